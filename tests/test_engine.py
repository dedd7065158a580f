"""The engine: event-woken reconciles, one engine per town, clean stops, restart recovery."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import pytest

from engine import vocab
from engine.config import SchedulerSettings, TownConfig
from engine.engine import Engine
from engine.errors import GtError
from engine.ledger import Ledger
from tests.cli_support import gastown_argv
from tests.conftest import add_rig, gt, make_source_repo, script_body
from tests.recording import RecordingDispatcher


def run(coro):
    return asyncio.run(coro)


def test_engine_is_woken_by_a_gt_write_from_another_process(town):
    ledger = Ledger(town.ledger_target)
    add_rig(ledger, "web", "gt")
    a = ledger.beads.create("a", rig="web")["id"]
    b = ledger.beads.create("b", rig="web", deps=[(a, "blocks")])["id"]
    ledger.convoys.create("c", [a, b])
    ledger.close()
    dispatcher = RecordingDispatcher()
    # a one-minute tick: only the wake-up path can explain a quick pickup
    config = TownConfig(scheduler=SchedulerSettings(tick_seconds=60))

    async def scenario() -> float:
        engine = Engine(town, dispatcher=dispatcher, config=config)
        await engine.start()
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        try:
            while len(dispatcher.started) < 1:
                await asyncio.sleep(0.01)
            res = await asyncio.to_thread(gt, "bead", "close", a, town=town)
            assert res.returncode == 0, res.stderr
            t0 = time.monotonic()
            while len(dispatcher.started) < 2:
                await asyncio.sleep(0.005)
                assert time.monotonic() - t0 < 10
            return time.monotonic() - t0
        finally:
            stop.set()
            await task
            await engine.stop()

    elapsed = run(scenario())
    assert elapsed < 10
    assert [x.bead_id for x in dispatcher.started] == [a, b]


def test_a_second_engine_on_the_same_town_is_refused_with_the_holders_pid(town):
    async def scenario() -> None:
        first = Engine(town, dispatcher=RecordingDispatcher())
        await first.start()
        try:
            second = Engine(town, dispatcher=RecordingDispatcher())
            with pytest.raises(GtError, match=f"pid {os.getpid()}"):
                await second.start()
        finally:
            await first.stop()
        third = Engine(town, dispatcher=RecordingDispatcher())
        await third.start()  # the lock was released
        await third.stop()

    run(scenario())


def test_engine_publishes_ledger_events_to_subscribers(town):
    async def scenario() -> list[str]:
        engine = Engine(town, dispatcher=RecordingDispatcher())
        await engine.start()
        queue = engine.subscribe()
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        await asyncio.to_thread(gt, "bead", "create", "hello", town=town)
        kinds: list[str] = []
        deadline = time.monotonic() + 10
        while "created" not in kinds and time.monotonic() < deadline:
            try:
                batch = await asyncio.wait_for(queue.get(), 1)
            except TimeoutError:
                continue
            kinds += [e.kind for e in batch]
        stop.set()
        await task
        await engine.stop()
        return kinds

    assert "created" in run(scenario())


def start_engine(town_root: str, log_path: str) -> subprocess.Popen[bytes]:
    cmd = gastown_argv()
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, which outlives us
    return subprocess.Popen(
        [*cmd, "--engine-only", "--town", town_root],
        stdout=log,
        stderr=log,
        env={**os.environ, "SHELL": "/bin/sh"},
    )


def wait_for(cond, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_headless_engine_stops_cleanly_on_sigterm_and_sigint(tmp_path):
    from engine.town import init_town

    town = init_town(str(tmp_path / "town"))
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = start_engine(town.root, str(tmp_path / "engine.log"))
        wait_for(lambda: "engine started" in (tmp_path / "engine.log").read_text())
        second = start_engine(town.root, str(tmp_path / "second.log"))
        assert second.wait(30) == 1
        assert f"pid {proc.pid}" in (tmp_path / "second.log").read_text()
        proc.send_signal(sig)
        assert proc.wait(30) == 0
        text = (tmp_path / "engine.log").read_text()
        assert "engine stopped" in text and "Traceback" not in text
        (tmp_path / "engine.log").write_text("")


@pytest.mark.both_backends
def test_kill_9_of_the_engine_mid_dispatch_loses_nothing_and_starts_nothing_twice(
    tmp_path, ledger_backend
):
    from engine.adapters.tmux import Tmux, socket_name
    from engine.rig_setup import add_rig as clone_rig
    from engine.town import init_town

    town = init_town(str(tmp_path / "town"), ledger_url=ledger_backend)
    with open(town.config_path, "a") as fh:
        fh.write("\n[witness]\nstall_seconds = 60\ngupp_seconds = 120\n")
    src = make_source_repo(tmp_path / "src")
    ledger = Ledger(town.ledger_target)
    clone_rig(town, ledger, "web", str(src), prefix="gt", capabilities=[], gates=[])
    ids = [
        ledger.beads.create(
            f"job {i}",
            rig="web",
            slung=True,
            body=script_body("sleep 1", f"write j{i}.txt {i}", f"commit 'job {i}'"),
        )["id"]
        for i in range(4)
    ]
    tmux = Tmux(socket_name(town.root))
    try:
        proc = start_engine(town.root, str(tmp_path / "engine.log"))
        wait_for(lambda: any(ledger.beads.get(i)["status"] != vocab.OPEN for i in ids))
        proc.kill()  # kill -9, mid-dispatch
        proc.wait(10)
        proc = start_engine(town.root, str(tmp_path / "engine.log"))
        wait_for(
            lambda: all(ledger.beads.get(i)["status"] == vocab.CLOSED for i in ids), timeout=60
        )  # worked, submitted, and landed by the refinery
        for bead_id in ids:
            history = ledger.beads.history(bead_id)
            started = [e["attempt"] for e in history if e["kind"] == "started"]
            assert len(started) == len(set(started)), f"{bead_id} started twice: {history}"
        mrs = ledger.beads.list(bead_type="merge-request")
        assert sorted(m["metadata"]["source"] for m in mrs) == sorted(ids)
        wait_for(lambda: not tmux.panes())  # no orphan session
        worktrees = subprocess.run(
            ["git", "worktree", "list", "--porcelain"],
            cwd=ledger.rigs.require("web")["path"],
            capture_output=True,
            text=True,
        ).stdout
        listed = {
            ln.split(" ", 1)[1] for ln in worktrees.splitlines() if ln.startswith("worktree ")
        }
        owned = {a["worktree"] for a in ledger.agents.list() if a["worktree"]} | {
            ledger.rigs.require("web")["path"],
            os.path.join(town.rig_dir("web"), "refinery"),
        }
        assert {os.path.realpath(p) for p in listed} == {os.path.realpath(p) for p in owned}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        tmux.kill_server()
        ledger.close()


def test_the_loop_outlives_a_ledger_error_in_the_deacons_round(town, monkeypatch):
    """The ledger's server went away while the deacon recorded a round: the loop says so
    and goes on (it died with the server once, in the PostgreSQL restart test)."""
    from engine import reconcile_loop
    from engine.errors import LedgerError

    calls = {"n": 0}

    async def flaky(engine):
        calls["n"] += 1
        if calls["n"] == 1:
            raise LedgerError("ledger error in postgresql://db/town: terminating connection")

    monkeypatch.setattr(reconcile_loop.deacon_rounds, "run_due", flaky)
    config = TownConfig(scheduler=SchedulerSettings(tick_seconds=0.05))

    async def scenario() -> int:
        engine = Engine(town, dispatcher=RecordingDispatcher(), config=config)
        await engine.start()
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        try:
            t0 = time.monotonic()
            while calls["n"] < 3:
                assert not task.done(), "the loop died"
                assert time.monotonic() - t0 < 10
                await asyncio.sleep(0.02)
            return calls["n"]
        finally:
            stop.set()
            await task
            await engine.stop()

    assert run(scenario()) >= 3
