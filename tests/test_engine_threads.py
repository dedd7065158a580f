"""The engine's two threads: the ledger's, and the adapters' (git and tmux).

A reconcile plans on the ledger thread, launches sessions on the adapters' thread and
records the outcomes back on the ledger thread, so a command from the app never waits
behind a `git worktree add`; and nothing about the split may start a bead twice or lose a
start when the engine stops half-way.
"""

from __future__ import annotations

import asyncio
import threading
import time

from engine import vocab
from engine.config import TownConfig
from engine.engine import Engine
from engine.ledger import Ledger
from engine.polecats.dispatcher import Assignment, Launch, Started
from tests.conftest import add_rig
from tests.recording import RecordingDispatcher

SLOW_LAUNCH_SECONDS = 1.5


class SlowLaunches(RecordingDispatcher):
    """Every launch takes 1.5 s (a big repository's worktree add); records the threads."""

    def __init__(self) -> None:
        super().__init__()
        self.launching = threading.Event()
        self.threads: dict[str, set[str]] = {"prepare": set(), "launch": set(), "alive": set()}

    def prepare(self, assignment: Assignment) -> Launch:
        self.threads["prepare"].add(threading.current_thread().name)
        return super().prepare(assignment)

    def launch(self, plan: Launch) -> Started:
        self.threads["launch"].add(threading.current_thread().name)
        self.launching.set()
        time.sleep(SLOW_LAUNCH_SECONDS)
        return super().launch(plan)

    def alive(self) -> set[str] | None:
        self.threads["alive"].add(threading.current_thread().name)
        return super().alive()


def slung_town(town, n: int = 1) -> list[str]:
    ledger = Ledger(town.ledger_target)
    add_rig(ledger, "web", "gt")
    ids = [ledger.beads.create(f"work {i}", rig="web", slung=True)["id"] for i in range(n)]
    ledger.close()
    return ids


def test_a_command_does_not_wait_behind_a_slow_launch(town):
    slung_town(town)
    dispatcher = SlowLaunches()

    async def scenario() -> float:
        engine = Engine(town, dispatcher=dispatcher, config=TownConfig())
        await engine.start()
        try:
            reconcile = asyncio.create_task(engine.reconcile())
            assert await asyncio.to_thread(dispatcher.launching.wait, 5)
            led = engine.ledger
            assert led is not None
            t0 = time.monotonic()
            await engine.call(led.beads.create, "filed meanwhile", rig="web")
            elapsed = time.monotonic() - t0
            assert not reconcile.done()  # the launch was still under way
            report = await reconcile
            assert len(report.started) == 1
            return elapsed
        finally:
            await engine.stop()

    assert asyncio.run(scenario()) < 0.5


def test_launches_run_on_the_adapters_thread_and_the_ledger_side_on_the_ledgers(town):
    slung_town(town)
    dispatcher = SlowLaunches()

    async def scenario() -> None:
        engine = Engine(town, dispatcher=dispatcher, config=TownConfig())
        await engine.start()
        try:
            await engine.reconcile()
        finally:
            await engine.stop()

    asyncio.run(scenario())
    assert len(dispatcher.started) == 1
    names = dispatcher.threads
    assert names["prepare"] and names["launch"] and names["alive"], names
    assert all(n.startswith("adapters") for n in names["launch"] | names["alive"]), names
    assert all(n.startswith("ledger") for n in names["prepare"]), names


def test_stopping_during_a_launch_records_the_started_session(town):
    (bead,) = slung_town(town)
    dispatcher = SlowLaunches()

    async def scenario() -> None:
        engine = Engine(town, dispatcher=dispatcher, config=TownConfig())
        await engine.start()
        reconcile = asyncio.create_task(engine.reconcile())
        assert await asyncio.to_thread(dispatcher.launching.wait, 5)
        await engine.stop()  # waits for the reconcile to record what it launched
        assert reconcile.done() and reconcile.exception() is None

    asyncio.run(scenario())
    with Ledger(town.ledger_target) as ledger:
        assert ledger.beads.get(bead)["status"] == vocab.IN_PROGRESS
        (agent,) = ledger.agents.list()
        assert agent["status"] == vocab.AGENT_WORKING and agent["session"]


def test_overlapping_reconciles_start_each_bead_once(town):
    ids = slung_town(town, 2)
    dispatcher = SlowLaunches()

    async def scenario() -> None:
        engine = Engine(town, dispatcher=dispatcher, config=TownConfig())
        await engine.start()
        try:
            await asyncio.gather(*(engine.reconcile() for _ in range(3)))
        finally:
            await engine.stop()

    asyncio.run(scenario())
    assert sorted(a.bead_id for a in dispatcher.started) == sorted(ids)
