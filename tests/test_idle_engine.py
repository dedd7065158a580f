"""An idle engine is cheap: writers notify it through the town's wake pipe, so it sleeps
instead of polling, and still sees writers that do not notify on a slow safety poll."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import time
from collections.abc import Callable

from engine.config import SchedulerSettings, TownConfig
from engine.engine import POLL_SECONDS, Engine
from engine.ledger import Ledger
from engine.ledger.wake import WakeListener, notify, wake_path
from tests.conftest import add_rig, gt
from tests.recording import RecordingDispatcher

# a one-hour tick: only a wake-up (or the poll) can explain a reconcile
QUIET = TownConfig(scheduler=SchedulerSettings(tick_seconds=3600))


async def until(cond: Callable[[], bool], timeout: float) -> float:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "the engine did not react in time"
        await asyncio.sleep(0.005)
    return time.monotonic() - t0


async def running(engine: Engine) -> tuple[asyncio.Event, asyncio.Task[None]]:
    await engine.start()
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    await until(lambda: engine.reconciles >= 1, 10)  # the first reconcile is not a wake-up
    return stop, task


async def stopped(engine: Engine, stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    stop.set()
    await task
    await engine.stop()


def test_a_gt_write_from_another_process_wakes_the_engine_without_waiting_for_the_poll(town):
    ledger = Ledger(town.ledger_target)
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("a", rig="web")["id"]
    ledger.close()
    dispatcher = RecordingDispatcher()

    async def scenario() -> tuple[float, float]:
        # a 30 s safety poll: reacting within seconds can only be the notification
        engine = Engine(town, dispatcher=dispatcher, config=QUIET, poll_seconds=30)
        stop, task = await running(engine)
        try:
            before = engine.reconciles
            res = await asyncio.to_thread(gt, "bead", "create", "hello", town=town)
            assert res.returncode == 0, res.stderr
            created = await until(lambda: engine.reconciles > before, 5)
            res = await asyncio.to_thread(gt, "sling", bead, town=town)
            assert res.returncode == 0, res.stderr
            slung = await until(lambda: len(dispatcher.started) == 1, 5)
            return created, slung
        finally:
            await stopped(engine, stop, task)

    created, slung = asyncio.run(scenario())
    assert created < 5 and slung < 5
    assert [a.bead_id for a in dispatcher.started] == [bead]


def test_a_write_that_does_not_notify_is_picked_up_by_the_safety_poll(town):
    ledger = Ledger(town.ledger_target)
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("a", rig="web")["id"]  # not slung: the engine leaves it
    ledger.close()
    dispatcher = RecordingDispatcher()

    async def scenario() -> float:
        engine = Engine(town, dispatcher=dispatcher, config=QUIET)
        stop, task = await running(engine)
        try:
            assert dispatcher.started == []
            # an older writer: the plain sqlite3 module, which sends no notification
            conn = sqlite3.connect(town.ledger_path, isolation_level=None)
            conn.execute("UPDATE beads SET slung = 1 WHERE id = ?", (bead,))
            conn.close()
            return await until(lambda: len(dispatcher.started) == 1, POLL_SECONDS + 5)
        finally:
            await stopped(engine, stop, task)

    elapsed = asyncio.run(scenario())
    assert elapsed < POLL_SECONDS + 2  # the poll, plus slack for a loaded machine
    assert [a.bead_id for a in dispatcher.started] == [bead]


def test_an_idle_engine_sleeps_and_its_own_commits_do_not_wake_it(town):
    ledger = Ledger(town.ledger_target)
    add_rig(ledger, "web", "gt")
    ledger.beads.create("a", rig="web", slung=True)  # the first reconcile writes
    ledger.close()

    class CountingEngine(Engine):
        looks = 0

        def _ledger_changed(self) -> bool:
            self.looks += 1
            return super()._ledger_changed()

    async def scenario() -> tuple[int, int]:
        engine = CountingEngine(
            town, dispatcher=RecordingDispatcher(), config=QUIET, poll_seconds=30
        )
        stop, task = await running(engine)
        try:
            await asyncio.sleep(0.5)
            return engine.looks, engine.reconciles
        finally:
            await stopped(engine, stop, task)

    # one look at the ledger, one reconcile, then sleep: no 10 ms poll, and the commits of
    # that reconcile did not send the engine a wake-up (it would look a second time)
    assert asyncio.run(scenario()) == (1, 1)


def test_the_engine_replaces_a_stale_wake_pipe_and_removes_its_own_on_stop(town):
    path = wake_path(town.ledger_path)
    assert os.path.dirname(path) == town.state_dir
    with open(path, "w") as fh:  # what a killed engine (or anything else) left behind
        fh.write("stale")

    async def scenario() -> int:
        engine = Engine(town, dispatcher=RecordingDispatcher(), config=QUIET, poll_seconds=30)
        stop, task = await running(engine)
        try:
            return os.lstat(path).st_mode
        finally:
            await stopped(engine, stop, task)

    mode = asyncio.run(scenario())
    assert stat.S_ISFIFO(mode) and stat.S_IMODE(mode) == 0o600
    assert not os.path.exists(path)


def test_notifying_with_no_engine_neither_fails_nor_blocks_nor_writes_a_file(tmp_path):
    path = str(tmp_path / "wake.fifo")
    notify(path)  # nothing there
    notify(str(tmp_path / "missing" / "wake.fifo"))
    os.mkfifo(path, 0o600)  # a pipe nobody reads: a killed engine's
    t0 = time.monotonic()
    notify(path)
    assert time.monotonic() - t0 < 1
    os.unlink(path)
    with open(path, "w") as fh:
        fh.write("x")
    notify(path)
    with open(path) as fh:
        assert fh.read() == "x"


def test_many_commits_make_one_readable_wake_up_that_drains(tmp_path):
    import select

    listener = WakeListener(str(tmp_path / "wake.fifo"))
    assert listener.open()
    try:
        assert select.select([listener], [], [], 0)[0] == []  # nothing pending: not readable
        for _ in range(3):
            notify(listener.path)
        assert select.select([listener], [], [], 0)[0] == [listener]
        listener.drain()
        assert select.select([listener], [], [], 0)[0] == []
    finally:
        listener.close()
    assert not os.path.exists(listener.path)


def test_a_ledger_commit_notifies_the_towns_listener(town):
    listener = WakeListener(wake_path(town.ledger_path))
    assert listener.open()
    ledger = Ledger(town.ledger_target)
    try:
        import select

        ledger.beads.create("a")
        assert select.select([listener], [], [], 0)[0] == [listener]
        listener.drain()
        ledger.db.notify_commits = False
        ledger.beads.create("b")
        assert select.select([listener], [], [], 0)[0] == []
    finally:
        ledger.close()
        listener.close()


def test_an_idle_engine_with_running_refineries_does_not_wake_itself(tmp_path):
    """The refinery asks for its rig's lease at every wake-up, and the engine wakes the
    refineries after every reconcile: a lease write at each ask woke the engine again, and
    the two spun (one reconcile every few ms, and a witness reading its agents' screens
    "idle twice" within a second of their start)."""
    from engine.rig_setup import add_rig as clone_rig
    from engine.town import init_town
    from tests.conftest import make_source_repo

    town = init_town(str(tmp_path / "town"))
    src = make_source_repo(tmp_path / "src")
    with town.open_ledger() as ledger:
        for rig, prefix in (("web", "we"), ("api", "ap")):
            clone_rig(town, ledger, rig, str(src), prefix=prefix, capabilities=[], gates=[])

    async def scenario() -> int:
        engine = Engine(town, dispatcher=RecordingDispatcher(), config=QUIET, refinery=True)
        stop, task = await running(engine)
        try:
            await asyncio.sleep(1.0)  # the refineries start and take their leases
            before = engine.reconciles
            await asyncio.sleep(3.0)
            return engine.reconciles - before
        finally:
            await stopped(engine, stop, task)

    assert asyncio.run(scenario()) <= 3
