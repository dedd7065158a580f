"""The deacon in the app: a `deacon` node in the Rigs tree with each patrol's last run,
findings and next run (read from the snapshot), folded until a person opens it, and its
detail screen listing what the last runs found."""

from __future__ import annotations

import time

import pytest

from engine.deacon import rounds
from engine.deacon.patrol import Finding, PatrolContext
from engine.deacon.stranded import PATROL as STRANDED
from engine.views.town_snapshot import snapshot
from gastown_tui.screens.detail import DetailScreen
from gastown_tui.widgets.rigs_tree import RigsTree
from tests.app_support import (
    AppTown,
    back_to_main,
    build_town,
    open_screen,
    run_async_tests,
    select_in_tree,
    settle,
    until,
)


@pytest.fixture
def gtown(tmp_path, monkeypatch) -> AppTown:
    return build_town(tmp_path, monkeypatch)


def hhmmss(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def record_stranded(gtown: AppTown, text: str) -> float:
    """The stranded patrol's run as the rounds record it (a real convoy is not needed to
    show what the rounds keep); returns when it ran."""
    ledger = gtown.ledger()
    try:
        now = ledger.now()
        ctx = PatrolContext(ledger, gtown.config, gtown.town, now)
        rounds.record(ctx, STRANDED, [Finding("hq-c0nv", text, problem=True)], None)
        return now
    finally:
        ledger.close()


def test_the_snapshot_carries_every_patrols_rows(gtown):
    record_stranded(gtown, "hq-c0nv stranded: gt-1 failed")
    ledger = gtown.ledger()
    try:
        rows = {r["name"]: r for r in snapshot(ledger, gtown.config)["patrols"]}
    finally:
        ledger.close()
    assert {"stranded", "hooks", "crash_loops", "reaper", "logs", "events"} <= rows.keys()
    s = rows["stranded"]
    assert s["found"] == 1 and s["findings"][0]["text"] == "hq-c0nv stranded: gt-1 failed"
    assert s["last_run"] and s["next_run"] and s["interval"] == 60


async def test_the_deacon_node_shows_each_patrols_runs_and_opens_its_findings(gtown):
    ran = record_stranded(gtown, "hq-c0nv stranded: gt-1 failed")
    app = gtown.app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        tree = app.query_one("#rigs", RigsTree)
        [deacon] = [n for n in tree.root.children if n.data and n.data["kind"] == "deacon"]
        assert "deacon" in deacon.label.plain and "1 found" in deacon.label.plain
        assert not deacon.is_expanded  # folded: the rigs keep the pane
        deacon.expand()
        await pilot.pause()
        leaves = {n.data["name"]: n.label.plain for n in deacon.children}
        assert f"1 found · last {hhmmss(ran)} · next {hhmmss(ran + 60)}" in leaves["stranded"]
        assert "stranded convoys" in leaves["stranded"]
        # a refresh with new patrol state keeps it open, and shows the new run
        # (the app refreshes on the ledger's change, as it does for another process's)
        record_stranded(gtown, "hq-c0nv stranded: gt-1 failed, gt-2 cancelled")
        await until(
            pilot,
            lambda: any(
                "gt-2" in str(n.data.get("patrols"))
                for n in tree.root.children
                if n.data and n.data["kind"] == "deacon"
            ),
        )
        [deacon] = [n for n in tree.root.children if n.data and n.data["kind"] == "deacon"]
        assert deacon.is_expanded
        await select_in_tree(pilot, "stranded")
        screen = await open_screen(pilot, "enter", DetailScreen)
        assert screen.title_text == "deacon patrols"
        body = screen.body.plain
        assert "stranded convoys" in body and "(every 60 s)" in body
        assert "! hq-c0nv stranded: gt-1 failed, gt-2 cancelled" in body
        assert "idle polecats" in body  # every patrol, run or not
        await pilot.press("escape")
        await back_to_main(pilot)


run_async_tests(globals())
