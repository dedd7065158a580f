"""Many `gt` processes at once against one town while a real engine runs in another process.

The ledger must serialise them all: every command succeeds (nobody sees "database is
locked"), every write is there afterwards, and the engine — one per town — stops cleanly.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.ledger import Ledger
from engine.lock import holder_pid
from engine.town import Town, init_town
from tests.cli_support import REPO, gt_argv, gt_env, run_json
from tests.conftest import add_rig

RUNNER = str(Path(__file__).resolve().parent / "engine_runner.py")


class EngineProc:
    """An engine_runner subprocess; killed at teardown if the test did not stop it."""

    def __init__(self, town: Town) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, RUNNER, town.root],
            cwd=str(REPO),
            env=gt_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self, timeout: float = 30) -> int:
        """The engine's pid, once it holds the lock and has opened the ledger."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                line = self.proc.stdout.readline()
                assert line.startswith("ready "), (line, self.finish(5))
                return int(line.split()[1])
            if self.proc.poll() is not None:
                pytest.fail(f"engine exited early: {self.finish(5)}")
        pytest.fail("engine did not become ready in time")

    def terminate(self, timeout: float = 20) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGTERM)
        return self.finish(timeout)

    def finish(self, timeout: float) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)


@pytest.fixture
def engines() -> Iterator[list[EngineProc]]:
    started: list[EngineProc] = []
    yield started
    for e in started:
        e.cleanup()


def start_engine(engines: list[EngineProc], town: Town) -> EngineProc:
    e = EngineProc(town)
    engines.append(e)
    return e


@pytest.mark.both_backends
def test_twenty_concurrent_gt_writers_with_a_running_engine_all_succeed(
    tmp_path: Path, engines: list[EngineProc], ledger_backend: str | None
) -> None:
    town = init_town(str(tmp_path / "town"), ledger_url=ledger_backend)
    with Ledger(town.ledger_target) as led:
        add_rig(led, "backend", "be")
        to_close = [led.beads.create(f"close me {i}")["id"] for i in range(5)]
        dep_pairs = [
            (led.beads.create(f"dependent {i}")["id"], led.beads.create(f"blocker {i}")["id"])
            for i in range(5)
        ]
        # Slung work in a rig: the engine assigns it, so it writes while the storm runs.
        slung = [led.beads.create(f"work {i}", rig="backend", slung=True)["id"] for i in range(3)]

    engine = start_engine(engines, town)
    engine_pid = engine.wait_ready()
    assert run_json("status", "--json", town=town)["engine_pid"] == engine_pid

    jobs: list[tuple[str, str, list[str]]] = []
    for i in range(5):
        jobs.append(
            ("create", f"concurrent create {i}", ["bead", "create", f"concurrent create {i}"])
        )
        jobs.append(("close", to_close[i], ["bead", "close", to_close[i], "--reason", "done"]))
        jobs.append(
            (
                "dep",
                f"{dep_pairs[i][0]}>{dep_pairs[i][1]}",
                ["dep", "add", dep_pairs[i][0], dep_pairs[i][1]],
            )
        )
        jobs.append(
            (
                "mail",
                f"concurrent subject {i}",
                ["mail", "send", "mayor", f"concurrent subject {i}"],
            )
        )
    assert len(jobs) == 20
    env = gt_env()
    procs = [
        subprocess.Popen(
            gt_argv(*argv, town=town),
            cwd=str(REPO),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _, _, argv in jobs
    ]  # all started before any is waited on
    results = [p.communicate(timeout=120) for p in procs]

    for (_, _, argv), p, (out, err) in zip(jobs, procs, results, strict=True):
        assert p.returncode == 0, (argv, p.returncode, err)
        assert "locked" not in out.lower() and "locked" not in err.lower(), (argv, err)
        assert "Traceback" not in err, err

    created = {
        key: out.strip()
        for (kind, key, _), (out, _) in zip(jobs, results, strict=True)
        if kind == "create"
    }
    with Ledger(town.ledger_target) as led:
        for title, bead_id in created.items():
            bead = led.beads.get(bead_id)
            assert bead is not None and bead["title"] == title, (title, bead_id)
        for bead_id in to_close:
            bead = led.beads.require(bead_id)
            assert bead["status"] == "closed" and bead["close_reason"] == "done"
        for dependent, blocker in dep_pairs:
            edges = led.graph.edges_of(dependent)["depends_on"]
            assert {"id": blocker, "type": "blocks"} in [
                {"id": e["id"], "type": e["type"]} for e in edges
            ]
            assert led.beads.require(dependent)["blocked"] is True
        subjects = [m["subject"] for m in led.mail.inbox(["mayor"])]
        for i in range(5):
            assert subjects.count(f"concurrent subject {i}") == 1
        # the engine did its own writes meanwhile: each slung bead has its polecat
        hooked = {a["hook"] for a in led.agents.list()}
        assert set(slung) <= hooked

    code, out, err = engine.terminate()
    assert code == 0, err
    assert "stopped" in out
    assert "Traceback" not in err and "locked" not in err.lower(), err
    assert "reconcile failed" not in err, err
    assert holder_pid(town.lock_path) is None  # the lock went with the engine


def test_a_second_engine_on_the_same_town_refuses_naming_the_first_pid(
    tmp_path: Path, engines: list[EngineProc]
) -> None:
    town = init_town(str(tmp_path / "town"))
    first = start_engine(engines, town)
    first_pid = first.wait_ready()
    assert first_pid == first.proc.pid

    second = start_engine(engines, town)
    code, out, err = second.finish(timeout=30)
    assert code != 0
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "already running" in lines[0] and str(first_pid) in lines[0], lines[0]
    assert "ready" not in out

    assert first.proc.poll() is None, "the refused engine must not disturb the first"
    code, _, err = first.terminate()
    assert code == 0, err


def test_after_an_engine_stops_another_can_start(tmp_path: Path, engines: list[EngineProc]) -> None:
    town = init_town(str(tmp_path / "town"))
    first = start_engine(engines, town)
    first.wait_ready()
    assert first.terminate()[0] == 0
    second = start_engine(engines, town)
    assert second.wait_ready() == second.proc.pid
    assert second.terminate()[0] == 0


def test_engine_lock_dies_with_a_killed_engine(tmp_path: Path, engines: list[EngineProc]) -> None:
    town = init_town(str(tmp_path / "town"))
    first = start_engine(engines, town)
    first.wait_ready()
    os.kill(first.proc.pid, signal.SIGKILL)
    first.finish(timeout=10)
    second = start_engine(engines, town)
    assert second.wait_ready() == second.proc.pid
    assert second.terminate()[0] == 0


def test_an_engine_on_a_directory_that_is_not_a_town_refuses_and_writes_nothing(
    tmp_path: Path, engines: list[EngineProc]
) -> None:
    not_a_town = tmp_path / "plain"
    not_a_town.mkdir()
    e = start_engine(engines, Town(str(not_a_town)))
    code, out, err = e.finish(timeout=30)
    assert code != 0 and "ready" not in out
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("engine_runner: error:"), err
    assert os.listdir(not_a_town) == []


def _spawn(town: Town, argvs: list[list[str]]) -> list[tuple[int, str, str]]:
    """Start every `gt` command before waiting on any; (code, stdout, stderr) of each."""
    env = gt_env()
    procs = [
        subprocess.Popen(
            gt_argv(*argv, town=town),
            cwd=str(REPO),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        out.append((p.returncode, stdout, stderr))
    return out


@pytest.mark.both_backends
def test_racing_dep_adds_never_make_a_cycle(
    tmp_path: Path, engines: list[EngineProc], ledger_backend: str | None
) -> None:
    town = init_town(str(tmp_path / "town"), ledger_url=ledger_backend)
    with Ledger(town.ledger_target) as led:
        pairs = [
            (led.beads.create(f"x{i}")["id"], led.beads.create(f"y{i}")["id"]) for i in range(5)
        ]
        x, y, z = (led.beads.create(n)["id"] for n in "xyz")
    engine = start_engine(engines, town)
    engine.wait_ready()
    argvs = [["dep", "add", a, b] for a, b in pairs] + [["dep", "add", b, a] for a, b in pairs]
    argvs += [["dep", "add", x, y], ["dep", "add", y, z], ["dep", "add", z, x]]
    results = _spawn(town, argvs)
    for code, _, err in results:
        assert code in (0, 1), err
        if code:
            lines = [ln for ln in err.splitlines() if ln.strip()]
            assert len(lines) == 1 and "cycle" in lines[0] and "→" in lines[0], err
    for i in range(5):  # each 2-cycle race: exactly one side wins
        assert sorted((results[i][0], results[i + 5][0])) == [0, 1]
    assert sorted(code for code, _, _ in results[10:]) == [0, 0, 1]
    with Ledger(town.ledger_target) as led:
        for a, b in pairs:
            assert (led.graph.find_path(a, b) is None) or (led.graph.find_path(b, a) is None)
        assert (
            sum(
                1
                for s, t in ((x, y), (y, z), (z, x))
                if any(e["id"] == t for e in led.graph.edges_of(s)["depends_on"])
            )
            == 2
        )
    assert engine.terminate()[0] == 0


@pytest.mark.both_backends
def test_racing_slings_with_a_running_engine_respect_capacity_and_one_agent_per_bead(
    tmp_path: Path, engines: list[EngineProc], ledger_backend: str | None
) -> None:
    town = init_town(str(tmp_path / "town"), ledger_url=ledger_backend)
    with Ledger(town.ledger_target) as led:
        add_rig(led, "north", "no")
        add_rig(led, "south", "so")
        beads = [
            led.beads.create(f"work {i}", rig="north" if i % 2 else "south")["id"]
            for i in range(16)
        ]
        beads += [led.beads.create(f"town work {i}")["id"] for i in range(4)]
    engine = start_engine(engines, town)
    engine.wait_ready()
    results = _spawn(town, [["sling", b, "--json"] for b in beads])
    for code, _, err in results:
        assert code == 0 and "locked" not in err.lower(), err
    deadline = time.monotonic() + 10
    with Ledger(town.ledger_target) as led:
        while time.monotonic() < deadline:  # the engine starts every hooked agent
            agents = led.agents.list()
            if agents and all(a["status"] == "working" for a in agents):
                break
            time.sleep(0.05)
        agents = led.agents.list()
        assert led.agents.invariant_violations() == []
        hooks = [a["hook"] for a in agents if a["hook"]]
        assert len(hooks) == len(set(hooks)) == 10  # town capacity 10, all of it used
        assert len({a["name"] for a in agents}) == len(agents)
        per_rig = Counter(a["rig"] for a in agents if a["hook"])
        assert per_rig == {"north": 5, "south": 5}  # per-rig capacity 5
        for bead_id in hooks:
            assert led.beads.require(bead_id)["assignee"] is not None
        queued = [b for b in beads if b not in hooks]
        assert all(led.beads.require(b)["assignee"] is None for b in queued)
    code, _, err = engine.terminate()
    assert code == 0 and "reconcile failed" not in err, err
