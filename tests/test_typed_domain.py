"""The domain's words are typed: statuses and types are StrEnums (still plain strings to
the ledger, JSON and old callers), and every event kind is registered in engine/events/."""

from __future__ import annotations

import ast
import json
import sqlite3
from pathlib import Path

import pytest

from engine import events, model, vocab
from engine.ledger.graph import record_event
from tests import test_refinery
from tests.conftest import gt, submit_work
from tests.test_refinery import drain

gated = test_refinery.gated  # its fixture: a town whose rig has a real gate
ENGINE = Path(__file__).resolve().parent.parent / "engine"

# ---- enums ------------------------------------------------------------------------------


def test_vocab_names_are_the_enum_members_and_still_equal_their_strings() -> None:
    assert vocab.OPEN is model.BeadStatus.OPEN
    assert vocab.OPEN == "open" and hash(vocab.OPEN) == hash("open")
    assert vocab.AGENT_STALLED is model.AgentStatus.STALLED
    assert vocab.BLOCKS is model.DepType.BLOCKS
    assert tuple(model.BeadType) == vocab.TYPES
    assert set(vocab.STATUSES) == {"open", "hooked", "in_progress", "in_review"} | {
        "closed",
        "failed",
        "cancelled",
    }
    assert "closed" in vocab.FINAL_STATUSES and vocab.CLOSED in {"closed"}
    assert vocab.DEP_TYPES == ("blocks", "parent-child", "related", "discovered-from", "tracks")


def test_enum_members_are_stored_printed_and_serialised_as_their_strings() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (s TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (model.MergeRequestState.AWAITING_APPROVAL,))
    assert conn.execute("SELECT s, typeof(s) FROM t").fetchone() == ("awaiting_approval", "text")
    assert json.dumps({vocab.OPEN: vocab.AGENT_IDLE}) == '{"open": "idle"}'
    assert f"{vocab.IN_REVIEW} / {vocab.PARENT_CHILD:>14}" == "in_review /   parent-child"
    assert ", ".join(vocab.WORK_TYPES) == "task, bug, feature, chore, molecule"


def test_merge_request_states_are_the_ones_the_merge_queue_uses() -> None:
    from engine.ledger.merge_queue import FINAL_STATES, OPEN_STATES

    assert set(model.MergeRequestState) == set(OPEN_STATES) | set(FINAL_STATES)


# ---- the event registry -----------------------------------------------------------------


def test_record_event_refuses_a_kind_nobody_registered() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE events (at, bead_id, kind, actor, attempt, data)")
    with pytest.raises(events.UnknownEventKind, match="bead_exploded"):
        record_event(conn, "gt-1", "bead_exploded", None, "2026-01-01T00:00:00Z", {})
    assert conn.execute("SELECT count(*) FROM events").fetchone() == (0,)
    record_event(conn, "gt-1", "closed", None, "2026-01-01T00:00:00Z", {})
    assert conn.execute("SELECT kind FROM events").fetchall() == [("closed",)]


def test_every_event_class_is_past_tense_documented_and_unique() -> None:
    assert len(events.REGISTRY) == len({c.__name__ for c in events.REGISTRY.values()})
    for kind, cls in events.REGISTRY.items():
        assert cls.kind == kind
        assert events.describe(kind), cls.__name__
    with pytest.raises(TypeError):

        class Again(events.Event, kind="closed"):
            """A second owner for a kind."""


def _literals(node: ast.AST, names: dict[str, list[ast.AST]]) -> list[str]:
    """The strings an expression can be: constants, both arms of `a if c else b`, names
    assigned a constant anywhere in engine/, and f-strings as `prefix{}`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body, names) + _literals(node.orelse, names)
    if isinstance(node, ast.Name):
        return [s for value in names.get(node.id, []) for s in _literals(value, names)]
    if isinstance(node, ast.JoinedStr):
        return ["".join(str(p.value) if isinstance(p, ast.Constant) else "{}" for p in node.values)]
    return []


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def kinds_in_the_code() -> dict[str, str]:
    """Every kind the code passes to a function of engine/ that takes a `kind` or `event`
    parameter (record_event, BeadStore.set_status, AgentStore.record, Scheduler.fail...),
    by keyword or by position: kind -> where."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in ENGINE.rglob("*.py")}
    names: dict[str, list[ast.AST]] = {}
    # functions with a kind/event parameter: name -> (its positions without self, calls)
    takers: dict[str, tuple[set[int], set[str]]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names.setdefault(target.id, []).append(node.value)
            if isinstance(node, ast.FunctionDef):
                params = [a.arg for a in node.args.posonlyargs + node.args.args]
                params = [p for p in params if p not in ("self", "cls")]
                at = {i for i, p in enumerate(params) if p in ("kind", "event")}
                if at:
                    calls = {_called(c) for c in ast.walk(node) if isinstance(c, ast.Call)}
                    old = takers.get(node.name, (set(), set()))
                    takers[node.name] = (old[0] | at, old[1] | calls)
    # ... of which those that end in record_event (not inbox.put's kind of request)
    recorders, grew = {"record_event"}, True
    while grew:
        grew = False
        for fname, (_, calls) in takers.items():
            if fname not in recorders and calls & recorders:
                recorders.add(fname)
                grew = True
    positions = {f: takers[f][0] for f in recorders if f in takers}
    found: dict[str, str] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _called(node)
            exprs = [kw.value for kw in node.keywords if kw.arg in ("kind", "event")]
            exprs += [node.args[i] for i in positions.get(name, ()) if i < len(node.args)]
            for expr in exprs:
                for kind in _literals(expr, names):
                    found.setdefault(kind, f"{path.relative_to(ENGINE.parent)}:{node.lineno}")
    return found


# f-string kinds the code builds from a closed set: every member must be registered
TEMPLATES = {"agent_{}": model.AgentStatus, "mq_{}": model.MergeRequestState}


def test_every_event_kind_the_code_records_is_registered() -> None:
    found = kinds_in_the_code()
    # the scan must really see the code: these are written in several places
    assert {"created", "closed", "hooked", "primed", "mq_landed", "agent_{}"} <= set(found)
    unregistered = {}
    for kind, where in found.items():
        expanded = [kind.format(m) for m in TEMPLATES[kind]] if kind in TEMPLATES else [kind]
        if "{}" in kind and kind not in TEMPLATES:
            unregistered[kind] = where + " (an f-string kind: add it to TEMPLATES)"
        unregistered.update({k: where for k in expanded if k not in events.REGISTRY})
    assert not unregistered, unregistered


def test_the_breakers_failure_kinds_are_registered() -> None:
    from engine.scheduler.breaker import BEAD_FAULT, FAILURE_KINDS

    assert set(FAILURE_KINDS) | {BEAD_FAULT} <= set(events.REGISTRY)


def test_gt_events_kinds_lists_the_registry(tmp_path: Path) -> None:
    from engine.town import init_town

    town = init_town(str(tmp_path / "town"))
    proc = gt("events", "--kinds", "--json", town=town)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["kind"] for r in rows] == sorted(events.REGISTRY)
    closed = next(r for r in rows if r["kind"] == "closed")
    assert closed["event"] == "BeadClosed" and "reason" in closed["data"]
    text = gt("events", "--kinds", town=town)
    assert text.returncode == 0 and "AgentStalled" in text.stdout


# ---- a real flow ------------------------------------------------------------------------


def test_a_real_flow_records_only_registered_kinds(gated) -> None:
    """Work submitted, gated, landed, failed and conflicted by a real refinery, plus the
    everyday bead, convoy, dependency and mail actions: every kind in the ledger is known."""
    rt, refinery = gated()
    led = rt.ledger
    submit_work(rt, "good", {"good.txt": "fine\n"})
    submit_work(rt, "broken", {"bad.txt": "BROKEN\n"})
    submit_work(rt, "edit one", {"shared.txt": "one\nTWO\nthree\n"})
    submit_work(rt, "edit two", {"shared.txt": "one\nzwei\nthree\n"})
    drain(refinery)
    a = led.beads.create("A", rig="web")["id"]
    b = led.beads.create("B", rig="web")["id"]
    led.graph.add(b, a)
    led.graph.remove(b, a)
    convoy = led.convoys.create("C", [a, b], staged=True)["id"]
    led.convoys.launch(convoy)
    led.beads.close(a, reason="done by hand")
    led.beads.reopen(a)
    led.convoys.cancel(convoy)
    mail = led.mail.send(sender="mayor", to="mayor", subject="hello")
    led.mail.mark_read(mail["id"], reader="mayor")

    kinds = {r[0] for r in led.db.conn.execute("SELECT DISTINCT kind FROM events")}
    assert len(kinds) >= 20, kinds  # the flow really exercised the town
    assert {"mq_landed", "mq_failed", "merged", "convoy_cancelled", "read"} <= kinds
    assert kinds <= set(events.REGISTRY), kinds - set(events.REGISTRY)
    # and every row the flow wrote reads back as its own class, and back to the same row
    rows = led.state.recent(limit=100_000)
    objects = [events.from_row(r) for r in rows]
    assert not [e for e in objects if isinstance(e, events.UnknownEvent)]
    assert [e.to_row() for e in objects] == rows


# ---- events as objects ------------------------------------------------------------------


def test_every_kind_the_code_records_round_trips_through_its_class() -> None:
    """row -> object -> row with data intact, for every kind the scan finds in engine/
    (templates expanded): each is its own registered class, never an UnknownEvent, and
    each documented key is a typed attribute."""
    kinds: set[str] = set()
    for kind in kinds_in_the_code():
        members = TEMPLATES.get(kind)
        kinds |= {kind.format(m) for m in members} if members else {kind}
    assert len(kinds) >= 60, sorted(kinds)
    for kind in sorted(kinds):
        cls = events.REGISTRY[kind]
        documented = [k for k in cls.fields if not k.startswith("<")]
        data = {k: f"{k} value" for k in documented} | {"unlisted": [1, {"x": None}]}
        row = {"id": 1, "at": "2026-01-01T00:00:00Z", "bead_id": "gt-1", "kind": kind}
        row |= {"actor": "a", "attempt": 3, "data": data}
        ev = events.from_row(row)
        assert type(ev) is cls, kind
        assert ev.to_row() == row and json.dumps(ev.to_row()) == json.dumps(row), kind
        assert ev.extra == {"unlisted": [1, {"x": None}]}, kind
        for key in documented:
            attr = key + "_" if key in ("from",) else key
            assert getattr(ev, attr) == f"{key} value", (kind, key)
