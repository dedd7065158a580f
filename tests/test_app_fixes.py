"""Issue 11 §3, "things that do the wrong thing": each fixed behaviour, driven by keys.

The town is tests/app_support.py's (two rigs, a convoy, mail, a failed and a landed merge
request, an escalation, frozen clocks). Each test failed before its fix; the docstrings
say how.
"""

from __future__ import annotations

import os

import pytest
from textual.widgets import Input, TextArea

from engine.events import from_row
from engine.ledger import Ledger
from engine.polecats import seance
from engine.timeutil import iso
from gastown_tui.action_registry import DOES, MOVING_AROUND, REGISTRY
from gastown_tui.palette import GasTownCommands
from gastown_tui.screens.detail import DetailScreen
from gastown_tui.screens.dialogs import (
    ComposeDialog,
    ConvoyDialog,
    HelpDialog,
    MessageDialog,
    SlingDialog,
    TickBox,
)
from gastown_tui.widgets.bead_table import BeadTable
from gastown_tui.widgets.logs import LogPane
from gastown_tui.widgets.panels import MailTable, MergeQueueTable
from tests.app_support import (
    START,
    AppTown,
    back_to_main,
    build_town,
    open_screen,
    read_ledger,
    run_async_tests,
    running,
    select_bead,
    select_in_tree,
    select_row,
    shown_beads,
    type_text,
    until,
)

SIZE = (200, 50)


@pytest.fixture
def gtown(tmp_path, monkeypatch) -> AppTown:
    return build_town(tmp_path, monkeypatch)


def rows_of(table: MailTable | MergeQueueTable) -> list[str]:
    return [str(row.key.value) for row in table.ordered_rows]


# ---- Problems: enter opens the row's own subject --------------------------------------------


async def test_enter_on_a_problems_row_opens_that_rows_escalation(gtown):
    """Before: the bead selected in the Beads table opened, whatever the row."""
    app = gtown.app()
    esc = gtown.ids["escalation"]
    async with running(app) as pilot:
        await select_bead(pilot, gtown.ids["ship"])
        await select_row(pilot, "tab-problems", "#problems", f"escalation:{esc}")
        screen = await open_screen(pilot, "enter", DetailScreen)
        assert screen.title_text == esc
        assert "which rounding" in screen.body.plain


# ---- mail -------------------------------------------------------------------------------------


def deliver_system_mail(gtown: AppTown) -> str:
    ledger = Ledger(gtown.town.ledger_target, clock=gtown.clock)
    try:
        with ledger.transaction():
            return ledger.mail.deliver(
                sender="scheduler", to="mayor", subject="Dispatch paused", body="see the breaker"
            )
    finally:
        ledger.close()


async def test_replying_to_system_mail_is_refused_before_anything_is_typed(gtown):
    """Before: a compose dialog addressed to 'scheduler' opened; the send then failed with
    "no live agent named 'scheduler'" and the typed body was lost."""
    mail_id = deliver_system_mail(gtown)
    app = gtown.app()
    async with running(app) as pilot:
        await select_row(pilot, "tab-mail", "#mail", mail_id)
        dialog = await open_screen(pilot, "enter", MessageDialog)
        await pilot.press("r")
        await pilot.pause()
        assert app.screen is dialog  # no compose dialog: nothing to type and then lose
        assert app.noticed("no mailbox to reply to")
        assert dialog.query_one("#ok").disabled


async def test_a_reply_opens_on_its_body_so_typing_keeps_the_address(gtown):
    """Before: the reply opened on To, its address selected; the first key replaced it."""
    app = gtown.app()
    mail_id = gtown.ids["mail:review"]
    async with running(app) as pilot:
        await select_row(pilot, "tab-mail", "#mail", mail_id)
        await open_screen(pilot, "enter", MessageDialog)
        compose = await open_screen(pilot, "r", ComposeDialog)
        assert compose.query_one("#body", TextArea).has_focus
        await type_text(pilot, "Landing it.")
        assert compose.query_one("#to", Input).value == gtown.ids["agent:form"]
        assert compose.query_one("#body", TextArea).text == "Landing it."
        await pilot.click("#ok")
        await back_to_main(pilot)
        inbox = await read_ledger(app, lambda led: led.mail.inbox([gtown.ids["agent:form"]]))
        assert [(m["reply_to"], m["body"]) for m in inbox] == [(mail_id, "Landing it.")]


async def test_mail_arriving_live_goes_on_top(gtown):
    """Before: a new message was appended under the older ones."""
    app = gtown.app()
    async with running(app) as pilot:
        table = app.query_one("#mail", MailTable)
        before = rows_of(table)
        gtown.clock.advance(30)
        sent = await app.engine.mail_send("mayor", "Newest", "hello", sender="web/witness")
        app.mark_dirty()
        await until(pilot, lambda: sent["id"] in rows_of(table))
        assert rows_of(table) == [sent["id"], *before]


# ---- merge queue ------------------------------------------------------------------------------


async def test_merge_queue_shows_failures_first(gtown):
    """Before: oldest first — the landed request on top, the failure under it."""
    app = gtown.app()
    async with running(app) as pilot:
        await select_row(pilot, "tab-mq", "#mq", gtown.ids["mr:style"])
        rows = rows_of(app.query_one("#mq", MergeQueueTable))
        assert rows[0] == gtown.ids["mr:style"]
        assert rows[-1] == gtown.ids["mr:sub"]  # landed: last


# ---- times for people -------------------------------------------------------------------------


async def test_a_runtime_pause_toast_says_when_in_words(gtown):
    """Before: "claude takes no work until 2027-01-15T09:07:00.000000Z"."""
    app = gtown.app()
    async with running(app):
        until_at = iso(gtown.clock() + 240)
        event = from_row(
            {
                "kind": "runtime_paused",
                "at": iso(gtown.clock()),
                "data": {"runtime": "claude", "until": until_at, "reason": "rate limit"},
            }
        )
        app.notify_event(event)
        assert app.noticed("claude takes no work for now (back in 4 min)")
        assert not app.noticed(until_at)


async def test_a_paused_runtime_in_problems_says_when_in_words(gtown):
    """Before: "runtime codex paused until 2027-01-15T09:25:00.000000Z (…)"."""
    from engine.scheduler.runtime_pauses import RuntimePauses
    from engine.views.town_snapshot import problems

    with gtown.ledger() as led, led.transaction():
        RuntimePauses(led).pause(
            "codex", shown_until=gtown.clock() + 600, reason="usage limit", bead=None
        )
    app = gtown.app()
    async with running(app):
        found = await read_ledger(app, problems)
        (paused,) = [p for p in found if p["kind"] == "paused"]
        assert paused["text"].startswith("runtime codex paused, back in 10 min")


async def test_a_breaker_toast_says_when_dispatch_retries(gtown):
    """Before: the toast's text was the event's bead, which a breaker trip has none of."""
    app = gtown.app()
    async with running(app):
        event = from_row(
            {
                "kind": "breaker_tripped",
                "at": iso(gtown.clock()),
                "data": {"failures": 3, "until": iso(gtown.clock() + 300), "reasons": []},
            }
        )
        app.notify_event(event)
        assert app.noticed("3 failures; dispatch retries in 5 min")


# ---- peek and the live log --------------------------------------------------------------------


async def test_peek_opens_at_the_tail_of_the_pane(gtown, monkeypatch):
    """Before: the screen opened at the first of the captured lines."""
    app = gtown.app()
    lines = "\n".join(f"line {n}" for n in range(200))
    monkeypatch.setattr(app.engine, "peek", lambda agent, n: lines)
    async with running(app, size=(80, 24)) as pilot:
        await select_in_tree(pilot, "Maple")
        screen = await open_screen(pilot, "p", DetailScreen)
        scroll = screen.query_one(".detail")
        await until(
            pilot, lambda: scroll.max_scroll_y > 0 and scroll.scroll_y == scroll.max_scroll_y
        )


async def test_a_finished_beads_log_stays_shown_marked_ended(gtown):
    """Before: selecting a bead whose polecat was gone followed another polecat (or blanked
    the log: "Select a polecat"); its own last session's output could not be seen."""
    sub = gtown.ids["sub"]
    path = seance.log_path(gtown.town.logs_dir, "calc", "Nux", sub, 1)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("subtraction: 3 tests passed\nsubmitted for merge\n")
    os.utime(path, (START - 50, START - 50))
    app = gtown.app()
    async with running(app) as pilot:
        logs = app.query_one("#logs", LogPane)
        await select_bead(pilot, sub)
        await until(pilot, lambda: "ended" in str(logs.border_title))
        assert "Nux on " + sub in str(logs.border_title)
        await until(pilot, lambda: logs.lines_shown() >= 2)
        log = logs.query_one("#log-single")
        assert "submitted for merge" in "\n".join(s.text for s in log.lines)  # type: ignore[attr-defined]


# ---- search -----------------------------------------------------------------------------------


async def test_search_is_inline_live_and_escape_clears_it(gtown):
    """Before: search was a modal dialog (the table hidden while typing) and Escape on the
    main screen left the search on."""
    app = gtown.app()
    async with running(app) as pilot:
        await pilot.press("slash")
        await type_text(pilot, "page")
        assert len(app.screen_stack) == 1  # not modal: the table is there as one types
        await until(pilot, lambda: len(shown_beads(app)) == 4)
        await pilot.press("enter")
        assert app.query_one("#beads", BeadTable).has_focus
        assert app.query_one("#search", Input).display  # the search stays in sight
        await pilot.press("escape")
        await until(pilot, lambda: len(shown_beads(app)) == 11)
        assert app.search_text == ""
        assert not app.query_one("#search", Input).display


# ---- the convoy and sling dialogs -------------------------------------------------------------


async def test_convoy_dialog_staged_box_is_blank_until_checked_and_tab_moves_on(gtown):
    """Before: the box drew an X checked or not (only its colour changed)."""
    app = gtown.app()
    async with running(app) as pilot:
        dialog = await open_screen(pilot, "c", ConvoyDialog)
        box = dialog.query_one("#staged", TickBox)
        assert "X" not in box.render().plain and "✓" not in box.render().plain
        await type_text(pilot, "Ship it")
        await pilot.press("tab")
        await type_text(pilot, "plan.toml")
        await pilot.press("tab", "tab")
        assert box.has_focus
        await pilot.press("space")
        assert box.value and "✓" in box.render().plain
        assert dialog.query_one("#title", Input).value == "Ship it"
        assert dialog.query_one("#plan", Input).value == "plan.toml"


async def test_sling_dialog_gives_the_new_bead_a_body(gtown):
    """Before: the dialog had no body field: a real agent got a title and nothing else."""
    app = gtown.app()
    async with running(app) as pilot:
        dialog = await open_screen(pilot, "s", SlingDialog)
        await type_text(pilot, "Add modulo")
        dialog.query_one("#body", TextArea).focus()
        await type_text(pilot, "Add mod(a, b) to calc.py with tests.")
        await pilot.click("#ok")
        await back_to_main(pilot)
        beads = await read_ledger(app, lambda led: led.beads.list(include_records=False))
        made = next(b for b in beads if b["title"] == "Add modulo")
        assert made["body"] == "Add mod(a, b) to calc.py with tests."


# ---- help and the palette ---------------------------------------------------------------------


async def test_help_says_how_to_move_around_not_only_the_keys(gtown):
    """Before: help listed the action keys only."""
    app = gtown.app()
    async with running(app) as pilot:
        dialog = await open_screen(pilot, "question_mark", HelpDialog)
        shown = "\n".join(str(w.render()) for w in dialog.query("Static"))
        for words in ("tab", "C-b d", "ctrl+p", "Mail, Merge queue, Problems"):
            assert words in shown, words
        assert DOES["sling"] in shown


def test_every_action_says_what_it_does() -> None:
    assert {a.id for a in REGISTRY} <= set(DOES)
    assert all(len(DOES[a.id]) > len(a.label) + 10 for a in REGISTRY)
    assert MOVING_AROUND


async def test_palette_second_line_says_what_the_action_does(gtown):
    """Before: the second line was only where it applies and its key."""
    app = gtown.app()
    async with running(app):
        provider = GasTownCommands(app.screen)
        sling = next(a for a in REGISTRY if a.id == "sling")
        assert provider.help_for(sling).startswith(DOES["sling"])


run_async_tests(globals())
