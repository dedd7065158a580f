"""What the app looks like: every main screen and dialog, at fixed terminal sizes.

The town is the same every run (tests/app_support.py: seeded ids, frozen clocks, no cursor
blink), so a changed SVG means a changed screen. Regenerate after a deliberate change with
`pytest tests/test_app_snapshots.py --snapshot-update` and look at the report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from gastown_tui.screens.detail import DetailScreen
from gastown_tui.screens.dialogs import (
    ComposeDialog,
    ConfirmDialog,
    ConvoyDialog,
    HelpDialog,
    MessageDialog,
    SlingDialog,
    TextDialog,
)
from gastown_tui.widgets.logs import LogPane
from tests.app_support import (
    AppTown,
    build_town,
    open_screen,
    select_bead,
    select_in_tree,
    select_row,
    settle,
    type_text,
    until,
)

WIDE = (200, 50)
SMALL = (80, 24)

Before = Callable[[Pilot[Any], AppTown], Awaitable[None]]


@pytest.fixture
def gtown(tmp_path, monkeypatch) -> AppTown:
    return build_town(tmp_path, monkeypatch)


@pytest.fixture
def shot(snap_compare, gtown):
    """Open the app on the test town, do `before`, and compare the screen."""

    def take(before: Before | None = None, size: tuple[int, int] = WIDE) -> bool:
        async def run_before(pilot: Pilot[Any]) -> None:
            await settle(pilot)
            if before is not None:
                await before(pilot, gtown)
            await pilot.pause()

        return snap_compare(gtown.app(), terminal_size=size, run_before=run_before)

    return take


# ---- the main screen -----------------------------------------------------------------------


def test_main_screen_wide(shot):
    assert shot(size=WIDE)


def test_main_screen_at_80x24(shot):
    assert shot(size=SMALL)


@pytest.mark.parametrize("presses", [1, 2, 3, 4], ids=["ready", "blocked", "progress", "review"])
def test_bead_filter(shot, presses):
    async def before(pilot, t):
        for _ in range(presses):
            await pilot.press("f")
        await pilot.app.workers.wait_for_complete()

    assert shot(before)


def test_search_results(shot):
    async def before(pilot, t):
        await pilot.press("slash")
        await type_text(pilot, "page")
        await pilot.press("enter")  # back to the table, the search line kept in sight
        await until(pilot, lambda: pilot.app.search_text == "page")
        await pilot.app.workers.wait_for_complete()

    assert shot(before)


def test_merge_queue_tab(shot):
    async def before(pilot, t):
        await select_row(pilot, "tab-mq", "#mq", t.ids["mr:style"])

    assert shot(before)


def test_problems_tab(shot):
    async def before(pilot, t):
        await select_row(pilot, "tab-problems", "#problems", f"escalation:{t.ids['escalation']}")

    assert shot(before)


def test_tiled_logs(shot):
    async def before(pilot, t):
        await pilot.press("v")
        logs = pilot.app.query_one("#logs", LogPane)
        await until(
            pilot, lambda: len(logs._tiles) == 2 and all(w.lines for _, w in logs._tiles.values())
        )

    assert shot(before)


# ---- detail screens -----------------------------------------------------------------------


def test_bead_detail(shot):
    async def before(pilot, t):
        await select_bead(pilot, t.ids["form"])
        await open_screen(pilot, "enter", DetailScreen)

    assert shot(before)


def test_agent_detail(shot):
    async def before(pilot, t):
        await select_in_tree(pilot, "Maple")
        await open_screen(pilot, "enter", DetailScreen)

    assert shot(before)


def test_rig_detail(shot):
    async def before(pilot, t):
        await select_in_tree(pilot, "calc")
        await open_screen(pilot, "enter", DetailScreen)

    assert shot(before)


# ---- dialogs ---------------------------------------------------------------------------------


def test_sling_dialog(shot):
    async def before(pilot, t):
        await open_screen(pilot, "s", SlingDialog)
        await type_text(pilot, "Add modulo")

    assert shot(before)


def test_sling_dialog_at_80x24_scrolls_to_its_buttons(shot):
    """Before: taller than the screen, its Sling button below the last row, unreachable."""

    async def before(pilot, t):
        await open_screen(pilot, "s", SlingDialog)
        await type_text(pilot, "Add modulo")
        for _ in range(7):  # Tab through every field: the focused one stays in view
            await pilot.press("tab")
        await pilot.pause()
        focused = pilot.app.focused
        assert focused is not None and str(focused.label) == "Sling"
        region = focused.region
        assert region.y >= 0 and region.bottom <= pilot.app.size.height

    assert shot(before, size=SMALL)


def test_convoy_dialog(shot):
    async def before(pilot, t):
        await select_bead(pilot, t.ids["readme"])
        await open_screen(pilot, "c", ConvoyDialog)

    assert shot(before)


def test_compose_dialog(shot):
    async def before(pilot, t):
        await open_screen(pilot, "m", ComposeDialog)
        await type_text(pilot, "Maple")

    assert shot(before)


def test_message_dialog(shot):
    async def before(pilot, t):
        await select_row(pilot, "tab-mail", "#mail", t.ids["mail:review"])
        await open_screen(pilot, "enter", MessageDialog)

    assert shot(before)


def test_reply_dialog(shot):
    async def before(pilot, t):
        await select_row(pilot, "tab-mail", "#mail", t.ids["mail:review"])
        await open_screen(pilot, "enter", MessageDialog)
        await open_screen(pilot, "r", ComposeDialog)

    assert shot(before)


def test_nudge_dialog(shot):
    async def before(pilot, t):
        await select_bead(pilot, t.ids["mul"])
        await open_screen(pilot, "n", TextDialog)
        await type_text(pilot, "round to 2 places")

    assert shot(before)


def test_reject_reason_dialog(shot):
    async def before(pilot, t):
        await select_row(pilot, "tab-mq", "#mq", t.ids["mr:form"])
        await open_screen(pilot, "j", TextDialog)

    assert shot(before)


def test_search_dialog(shot):
    """The search line while typing: the table answers each key, nothing is covered."""

    async def before(pilot, t):
        await pilot.press("slash")
        await type_text(pilot, "page")
        await until(pilot, lambda: pilot.app.search_text == "page")
        await pilot.app.workers.wait_for_complete()

    assert shot(before)


def test_cancel_convoy_confirm_dialog(shot):
    async def before(pilot, t):
        await open_screen(pilot, "X", ConfirmDialog)

    assert shot(before)


def test_help_dialog(shot):
    async def before(pilot, t):
        await open_screen(pilot, "question_mark", HelpDialog)

    assert shot(before)
