"""The app's costs screen (key `$`, from the action registry): the same sums as `gt costs`,
by bead first, then by agent, convoy, rig, runtime and model (`b`); the budgets below."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from engine.usage import SessionUsage
from gastown_tui.screens.cost_screen import CostsScreen
from tests.app_support import AppTown, build_town, open_screen, run_async_tests, settle


@pytest.fixture
def gtown(tmp_path, monkeypatch) -> AppTown:
    t = build_town(tmp_path, monkeypatch)
    with t.ledger() as led:
        for key, figures in (("sub", (6000, 110, 1510, 210)), ("form", (4490, 110, 1510, 0))):
            agent = t.ids[f"agent:{key}"]
            runtime, model = ("claude", "claude-opus-4-8") if key == "sub" else ("codex", "gpt-5.5")
            with led.transaction():
                led.usage.record(
                    agent,
                    rig=led.agents.require(agent)["rig"],
                    bead_id=t.ids[key],
                    attempt=1,
                    sessions=[SessionUsage(runtime, f"s-{key}", model, *figures)],
                )
    return t


def rows(screen: CostsScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_the_costs_screen_sums_by_bead_then_by_each_grouping(gtown: AppTown) -> None:
    async with gtown.app().run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        screen = await open_screen(pilot, "dollar_sign", CostsScreen)
        assert rows(screen) == [
            [gtown.ids["sub"], "6,000", "110", "1,510", "210", "7,830", "-"],
            [gtown.ids["form"], "4,490", "110", "1,510", "0", "6,110", "-"],
            ["TOTAL", "10,490", "220", "3,020", "210", "13,940", "-"],
        ]
        assert "no budgets set" in str(screen.query_one("#costs-budgets", Static).render())
        for by in ("agent", "convoy", "rig", "runtime"):
            await pilot.press("b")
            await pilot.pause()
            assert screen.sub_title == f"token usage by {by}"
        assert [r[0] for r in rows(screen)] == ["claude", "codex", "TOTAL"]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, CostsScreen)


def test_costs_screen(snap_compare: Any, gtown: AppTown) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await open_screen(pilot, "dollar_sign", CostsScreen)
        await pilot.pause()

    assert snap_compare(gtown.app(), terminal_size=(120, 24), run_before=before)


run_async_tests(globals())
