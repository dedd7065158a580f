"""Events are typed objects built from the one registry (engine/events/): a ledger row
becomes its past-tense class and back without losing a key, the event stream hands views
those objects, the app reacts to classes, and `gt events` renders from them."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from engine import events
from engine.event_stream import EventStream
from engine.events import (
    BeadClosed,
    BeadCreated,
    BeadFailed,
    ConvoyLanded,
    Event,
    StatusChanged,
    UnknownEvent,
    from_row,
)
from tests.conftest import gt


def row(kind: str, data: dict[str, Any], **cols: Any) -> dict[str, Any]:
    base = {"id": 7, "at": "2026-01-01T00:00:00Z", "bead_id": "gt-1", "kind": kind}
    return {**base, "actor": "mayor", "attempt": None, **cols, "data": data}


# ---- row <-> object ---------------------------------------------------------------------


def test_a_row_becomes_its_class_with_typed_attributes_and_comes_back_unchanged() -> None:
    r = row("closed", {"from": "open", "to": "closed", "reason": "done by hand"}, attempt=2)
    ev = from_row(r)
    assert type(ev) is BeadClosed and isinstance(ev, StatusChanged)
    assert (ev.from_, ev.to, ev.reason) == ("open", "closed", "done by hand")
    assert (ev.id, ev.bead_id, ev.actor, ev.attempt, ev.kind) == (7, "gt-1", "mayor", 2, "closed")
    assert ev.extra == {}
    assert ev.to_row() == r


def test_undocumented_keys_are_kept_in_extra_in_their_place() -> None:
    data = {"reason": "gates", "zz_new": [1, 2], "from": "open", "to": "failed", "a": None}
    ev = from_row(row("failed", data))
    assert isinstance(ev, BeadFailed)
    assert ev.extra == {"zz_new": [1, 2], "a": None}
    # the key order is the recorded one: the JSON of the row is byte-identical
    assert json.dumps(ev.to_row()) == json.dumps(row("failed", data))


def test_a_documented_key_the_row_lacks_reads_none_and_is_not_invented() -> None:
    ev = from_row(row("closed", {"from": "open", "to": "closed"}))
    assert isinstance(ev, BeadClosed)
    assert ev.reason is None
    assert ev.data == {"from": "open", "to": "closed"}
    explicit_none = from_row(row("closed", {"reason": None}))
    assert explicit_none.data == {"reason": None}


def test_an_unknown_kind_becomes_an_unknown_event_never_an_exception() -> None:
    r = row("comet_sighted", {"tail": "long", "from": "x"}, bead_id=None)
    ev = from_row(r)
    assert type(ev) is UnknownEvent
    assert ev.kind == "comet_sighted" and ev.extra == {"tail": "long", "from": "x"}
    assert ev.to_row() == r
    assert "comet_sighted" in repr(ev)
    assert BeadClosed.kind == "closed"  # the per-event kind did not leak into the classes


def test_events_are_frozen_and_compare_by_value() -> None:
    ev = from_row(row("closed", {"from": "open", "to": "closed", "reason": "x"}))
    with pytest.raises(AttributeError, match="frozen"):
        ev.reason = "changed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ev.anything = 1  # type: ignore[attr-defined]
    assert not hasattr(ev, "__dict__")  # slots: an event costs no per-object dict
    keyword_key: dict[str, Any] = {"from": "open"}  # a data key that is a Python keyword
    built = BeadClosed(
        id=7,
        at="2026-01-01T00:00:00Z",
        bead_id="gt-1",
        actor="mayor",
        reason="x",
        **keyword_key,
        to="closed",
    )
    assert built.to_row()["data"] == {"reason": "x", "from": "open", "to": "closed"}
    assert BeadClosed(id=7, bead_id="gt-1", from_="open").data == {"from": "open"}
    same = from_row(row("closed", {"reason": "x", "from": "open", "to": "closed"}))
    assert built == same and built != from_row(row("cancelled", same.data))


def test_bead_updated_keeps_every_changed_field() -> None:
    ev = from_row(row("updated", {"title": ["old", "new"], "priority": [2, 1]}))
    assert isinstance(ev, events.BeadUpdated)
    assert ev.changes == {"title": ["old", "new"], "priority": [2, 1]}


def test_class_patterns_match_on_the_typed_attributes() -> None:
    def said(ev: Event) -> str:
        match ev:
            case BeadCreated(type="escalation", title=title):
                return f"escalation {title}"
            case StatusChanged(to="closed"):
                return "closed"
            case _:
                return "other"

    assert said(from_row(row("created", {"title": "help", "type": "escalation"}))) == (
        "escalation help"
    )
    assert said(from_row(row("created", {"title": "work", "type": "task"}))) == "other"
    assert said(from_row(row("merged", {"from": "in_review", "to": "closed"}))) == "closed"


def test_a_data_key_may_not_shadow_a_row_column() -> None:
    with pytest.raises(TypeError, match="bead_id"):

        class Clash(Event, kind="clash_for_this_test"):
            """A class whose data would hide the row's bead."""

            bead_id: str | None

    assert "clash_for_this_test" not in events.REGISTRY


# ---- the event stream -------------------------------------------------------------------


def test_the_event_stream_hands_views_event_objects() -> None:
    rows = [
        row("created", {"title": "A", "type": "task"}, id=1),
        row("convoy_landed", {"from": "open", "to": "landed", "beads": 3}, id=2),
        row("from_a_newer_town", {}, id=3),
    ]
    asked: list[int] = []

    async def events_after(last: int) -> list[dict[str, Any]]:
        asked.append(last)
        return [r for r in rows if r["id"] > last]

    async def scenario() -> list[Event]:
        stream = EventStream()
        queue = stream.subscribe()
        await stream.publish(events_after)
        await stream.publish(events_after)  # nothing new: no second batch
        assert queue.qsize() == 1
        return queue.get_nowait()

    batch = asyncio.run(scenario())
    assert [type(e) for e in batch] == [BeadCreated, ConvoyLanded, UnknownEvent]
    assert asked == [0, 3]
    assert isinstance(batch[1], ConvoyLanded) and batch[1].beads == 3
    assert [e.to_row() for e in batch] == rows


# ---- the app reacts to classes ----------------------------------------------------------


def notices(*evs: Event) -> list[tuple[str, str, str]]:
    """What TownView.notify_event tells a person about these events."""
    from gastown_tui.refresh import TownView

    said: list[tuple[str, str, str]] = []
    view: Any = SimpleNamespace()
    view.notify = lambda message, title, severity: said.append((title, message, severity))
    view.notify_bead = lambda ev, title, severity: TownView.notify_bead(view, ev, title, severity)
    for ev in evs:
        TownView.notify_event(view, ev)
    return said


def test_the_app_tells_a_person_about_the_events_that_matter_by_class() -> None:
    assert notices(
        from_row(row("mq_failed", {"reason": "gate failed: " + "x" * 200}, bead_id="mr-1")),
        from_row(row("failed", {"from": "in_review", "to": "failed"}, bead_id="gt-9")),
        from_row(row("convoy_landed", {"beads": 2}, bead_id="cv-1")),
        from_row(row("breaker_tripped", {"failures": 5}, bead_id=None)),
        from_row(row("created", {"title": "Which palette?", "type": "escalation"})),
    ) == [
        ("Merge failed", "mr-1: gate failed: " + "x" * 107, "error"),
        ("Bead failed", "gt-9", "warning"),
        ("Convoy landed", "cv-1", "information"),
        ("Circuit breaker tripped: dispatch paused", "5 failures; B resets it now", "error"),
        ("Escalation raised", "Which palette?", "warning"),
    ]


def test_the_app_stays_quiet_on_everyday_and_unknown_events() -> None:
    assert not notices(
        from_row(row("created", {"title": "work", "type": "task"})),
        from_row(row("closed", {"from": "open", "to": "closed"})),
        from_row(row("checkpoint", {"text": "half way"})),
        from_row(row("a_kind_from_the_future", {"type": "escalation"})),
    )


# ---- gt events --------------------------------------------------------------------------


def test_gt_events_json_is_the_ledgers_rows_byte_for_byte(ledger, town, capsys) -> None:
    from engine.cli.output import emit_json

    a = ledger.beads.create("Café ☕ <tab>", rig=None)["id"]
    ledger.beads.close(a, reason="done — by hand")
    ledger.convoys.create("C", [a], staged=True)
    rows = ledger.state.recent(limit=1000)
    assert {"created", "closed", "convoy_created"} <= {r["kind"] for r in rows}
    emit_json(rows)  # what `gt events --json` printed before events were objects
    expected = capsys.readouterr().out
    proc = gt("events", "--json", "-n", "1000", town=town)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected
    text = gt("events", "--bead", a, town=town)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["AT", "EVENT", "BEAD", "ACTOR", "DATA"]
    assert any(" closed " in line and '"reason": "done — by hand"' in line for line in lines)
