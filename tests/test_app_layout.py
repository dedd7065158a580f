"""Issue 11 §2 and §4's header: every pane usable at 80×24, the space laid out at 200×50,
focus that shows, and a header counting what needs a person.

The town is tests/app_support.py's (two rigs, a convoy, mail, a failed bead, frozen
clocks); `needy` adds an open circuit breaker, a paused runtime and an agent whose screen
waits for a person. Every test here failed before the change (the docstrings say how).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Footer, TabbedContent
from textual.widgets._footer import FooterKey
from textual.widgets.data_table import ColumnKey

from engine import vocab
from engine.polecats import screens
from engine.scheduler.breaker import KEY as BREAKER_KEY
from engine.scheduler.runtime_pauses import RuntimePauses
from gastown_tui.app import GasTownApp
from gastown_tui.widgets.bead_table import BeadTable
from gastown_tui.widgets.panels import ProblemsTable
from gastown_tui.widgets.rigs_tree import RigsTree
from gastown_tui.widgets.town_header import NeedChip
from tests.app_support import AppTown, build_town, run_async_tests, running, settle, until

WIDE = (200, 50)
SMALL = (80, 24)


@pytest.fixture
def gtown(tmp_path, monkeypatch) -> AppTown:
    return build_town(tmp_path, monkeypatch)


@pytest.fixture
def needy(gtown: AppTown, monkeypatch: pytest.MonkeyPatch) -> AppTown:
    """The town, with everything the header counts: an open breaker, a runtime paused by a
    rate limit, an agent held because its screen waits for a person (and the failed bead
    the town already has)."""
    with gtown.ledger() as led, led.transaction():
        now = led.now()
        led.state.put(
            BREAKER_KEY,
            {
                "state": "open",
                "until": now + 600,
                "failures": 3,
                "tripped_at": now,
                "recent": [],
                "reasons": [{"bead": gtown.ids["style"], "reason": "gate failed", "at": now}],
            },
        )
        RuntimePauses(led).pause("codex", shown_until=None, reason="429", bead=None)
        held = led.agents.require(gtown.ids["agent:mul"])
        led.agents.set_health(
            held["id"],
            vocab.AGENT_STALLED,
            info={"screen": {"needs_you": True, "attempt": held["attempt"]}},
            event="agent_needs_you",
        )
    # its screen still waits for a person: the witness reads it every tick (the test
    # town's "script" runtime, read as Claude Code's screens) and keeps the agent held
    monkeypatch.setitem(screens.RULES, "script", screens.RULES["claude"])
    waiting = "Do you want to proceed?\n❯ 1. Yes\n  2. No"
    gtown.dispatcher.screens = lambda agents: {  # type: ignore[method-assign]
        a["id"]: waiting for a in agents if a["id"] == gtown.ids["agent:mul"]
    }
    return gtown


def chips(app: GasTownApp) -> list[str]:
    return [str(c.render()) for c in app.query(NeedChip) if c.display]


def problem_rows(app: GasTownApp) -> list[str]:
    return [str(r.key.value) for r in app.query_one("#problems", ProblemsTable).ordered_rows]


def inside(app: GasTownApp, selector: str) -> bool:
    focused = app.focused
    pane = app.query_one(selector)
    return focused is not None and (focused is pane or pane in focused.ancestors)


# ---- panes: a key each; on a small terminal the pane takes the whole screen -----------------


@pytest.mark.parametrize(
    ("key", "pane"),
    [("1", "#rigs"), ("2", "#dag"), ("3", "#beads"), ("4", "#logs"), ("5", "#bottom")],
)
async def test_at_80x24_a_digit_gives_its_pane_the_whole_screen(gtown, key, pane):
    """Before: no such keys; at 80×24 the live log was hidden, the DAG 3 rows high and the
    bead table 4-5 rows."""
    app = gtown.app()
    async with running(app, SMALL) as pilot:
        await pilot.press(key)
        await pilot.pause()
        shown = app.query_one(pane)
        assert app.screen.maximized is shown
        assert shown.display and shown.region.width == 80
        # everything but the header and the footer
        assert shown.region.height == 24 - 2
        assert inside(app, pane)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.maximized is None


async def test_at_200x50_a_digit_only_moves_the_focus_and_z_zooms(gtown):
    app = gtown.app()
    async with running(app, WIDE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        assert inside(app, "#dag") and app.screen.maximized is None
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is app.query_one("#dag")
        await pilot.press("3")  # another pane, while zoomed: that one takes the screen
        await pilot.pause()
        assert app.screen.maximized is app.query_one("#beads") and inside(app, "#beads")
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is None and inside(app, "#beads")


@pytest.mark.parametrize("size", [SMALL, WIDE], ids=["80x24", "200x50"])
async def test_help_and_quit_always_show_in_the_footer(gtown, size):
    """Before: at 80×24 the footer ended at "? " (Help cut, Quit gone)."""
    app = gtown.app()
    async with running(app, size) as pilot:
        await pilot.pause()
        keys = {k.description: k.region for k in app.query_one(Footer).query(FooterKey)}
        for label in ("Help", "Quit"):
            region = keys[label]
            assert region.width > 0 and region.right <= size[0], label


async def test_help_and_quit_still_show_after_the_terminal_shrinks_to_80x24(gtown):
    """Before: the footer was fitted to the size before the resize (App.size is updated
    after the app's own resize handler), so a terminal shrunk to 80 columns kept the wide
    footer and lost Help and Quit."""
    app = gtown.app()
    async with running(app, WIDE) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(*SMALL)
        await pilot.pause()
        keys = {k.description: k.region for k in app.query_one(Footer).query(FooterKey)}
        for label in ("Help", "Quit"):
            assert keys[label].width > 0 and keys[label].right <= SMALL[0], label


async def test_the_rigs_tree_shows_its_cursor_before_any_key(gtown):
    """Before: the tree's cursor line was -1 until a key moved it."""
    app = gtown.app()
    async with running(app, WIDE):
        tree = app.query_one("#rigs", RigsTree)
        assert tree.cursor_line == 0 and tree.cursor_node is not None
        assert tree.cursor_node.data and tree.cursor_node.data["kind"] == "rig"


async def test_the_bead_tables_blocked_by_column_shows_every_blocker(gtown):
    """Before: 20 columns wide, cut by the pane to "ca" at 200×50."""
    app = gtown.app()
    async with running(app, WIDE) as pilot:
        await pilot.pause()
        table = app.query_one("#beads", BeadTable)
        column = table.columns[ColumnKey("blocked")]
        longest = max(len(str(table.get_cell(r.key, "blocked"))) for r in table.ordered_rows)
        assert longest >= len("web-f2kp, calc-nxq4")
        assert column.width >= longest
        # and the whole table fits its pane: nothing is off to the right
        total = sum(c.get_render_width(table) for c in table.columns.values())
        assert total <= table.scrollable_content_region.width


async def test_the_mail_table_is_as_tall_as_its_rows(gtown):
    """Before: a fixed 12 rows; four mails left ~6 empty rows under them at 200×50."""
    app = gtown.app()
    async with running(app, WIDE) as pilot:
        await pilot.pause()
        mail = app.query_one("#mail", DataTable)
        assert mail.region.height == mail.row_count + 1  # the rows and the header


# ---- the header: what needs a person, each count opening its list ------------------------


async def test_the_header_counts_what_needs_a_person(needy):
    """Before: the header said "Gas Town · paused: codex" at most; the breaker, the held
    agent and the failed bead were not there."""
    app = needy.app()
    async with running(app, WIDE):
        assert chips(app) == ["⚡ breaker open", "‖ 1 paused", "⚑ 1 need you", "✗ 1 failed"]


async def test_a_quiet_town_says_nothing_needs_you(gtown):
    with gtown.ledger() as led, led.transaction():
        led.beads.close(gtown.ids["style"], reason="done by hand", actor="mayor")
    app = gtown.app()
    async with running(app, WIDE):
        assert chips(app) == []
        assert app.query_one("#need-none").display


@pytest.mark.parametrize(
    ("key", "expect"),
    [("breaker", "breaker:breaker"), ("paused", "paused:codex"), ("failed", "failed:{style}")],
)
async def test_clicking_a_count_opens_its_list(needy, key, expect):
    app = needy.app()
    async with running(app, WIDE) as pilot:
        await pilot.click(f"#need-{key}")
        await pilot.pause()
        assert app.query_one("#bottom", TabbedContent).active == "tab-problems"
        assert problem_rows(app) == [expect.format(**needy.ids)]
        assert app.focused is app.query_one("#problems")


async def test_the_need_you_count_lists_the_held_agent(needy):
    app = needy.app()
    async with running(app, WIDE) as pilot:
        await pilot.click("#need-needs_you")
        await pilot.pause()
        (row,) = problem_rows(app)
        assert row.startswith("stalled:")


async def test_bang_steps_through_the_counts_then_shows_every_problem(needy):
    app = needy.app()
    async with running(app, SMALL) as pilot:
        everything = len(app.query_one("#problems", ProblemsTable)._problems)
        seen = []
        for _ in range(5):
            await pilot.press("exclamation_mark")
            await pilot.pause()
            seen.append((app.query_one("#problems", ProblemsTable).only, len(problem_rows(app))))
            # at 80×24 the list takes the screen
            assert app.screen.maximized is app.query_one("#bottom")
        assert seen == [
            ("breaker", 1),
            ("paused", 1),
            ("needs_you", 1),
            ("failed", 1),
            ("", everything),
        ]
        tab = app.query_one("#bottom", TabbedContent).get_tab("tab-problems")
        assert tab.label.plain == f"Problems ({everything})"


# ---- what it looks like --------------------------------------------------------------------

Before = Callable[[Pilot[Any]], Awaitable[None]]


def press(*keys: str) -> Before:
    async def before(pilot: Pilot[Any]) -> None:
        await pilot.press(*keys)
        await pilot.pause()
        await until(pilot, lambda: pilot.app.screen.maximized is not None or not keys)

    return before


def take(snap_compare: Any, town: AppTown, size: tuple[int, int], before: Before | None) -> bool:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        if before is not None:
            await before(pilot)
        await pilot.pause()

    return bool(snap_compare(town.app(), terminal_size=size, run_before=run_before))


@pytest.mark.parametrize("size", [WIDE, SMALL], ids=["200x50", "80x24"])
def test_snapshot_main_screen(snap_compare, gtown, size):
    assert take(snap_compare, gtown, size, None)


@pytest.mark.parametrize("key", ["1", "2", "3", "4", "5"])
def test_snapshot_pane_at_80x24(snap_compare, gtown, key):
    assert take(snap_compare, gtown, SMALL, press(key))


@pytest.mark.parametrize("size", [WIDE, SMALL], ids=["200x50", "80x24"])
def test_snapshot_header_counts(snap_compare, needy, size):
    assert take(snap_compare, needy, size, None)


def test_snapshot_detail_footer_at_80x24(snap_compare, gtown):
    async def before(pilot: Pilot[Any]) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: len(pilot.app.screen_stack) == 2)
        await pilot.pause()

    assert take(snap_compare, gtown, SMALL, before)


run_async_tests(globals())
