"""Gates die with the engine and see only the environment they are given.

A gate is the rig's own command running code from an agent's branch. It must never outlive
the engine that started it (a kill -9 leaves it behind; the next engine removes it before
its refinery touches the worktree), never run beside a second gate in the same worktree,
and never see the engine's secrets.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from engine.config import TownConfig
from engine.refinery.refinery import Refinery
from tests.conftest import RealTown, submit_work
from tests.test_engine import start_engine, wait_for

# The gate: notes whether a gate is still alive in this worktree when it starts, starts a
# child in its own process group, records both pids, and waits (far longer than any test).
GATE = """#!/bin/sh
pids="$1"
if [ -f "$pids" ]; then
  for p in $(cat "$pids"); do
    state=$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)
    if [ -n "$state" ] && [ "$state" != Z ]; then echo "$p" >> "$pids.overlap"; fi
  done
fi
sleep 600 &
echo $$ >> "$pids"
echo $! >> "$pids"
wait
"""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper is dead for our purpose)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def pids_in(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


@pytest.fixture
def long_gate(tmp_path, monkeypatch):
    """A town with one queued request and a gate that runs until it is killed."""
    monkeypatch.setenv("SHELL", "/bin/sh")
    pidfile = tmp_path / "gate.pids"
    gate = f"sh gate.sh {pidfile}"
    rt = RealTown(
        tmp_path / "t",
        TownConfig.model_validate({"rigs": {"web": {"gates": {"test": gate}}}}),
        files={"README.md": "# demo\n", "gate.sh": GATE},
    )
    with open(rt.town.config_path, "a") as fh:
        fh.write(f'\n[rigs.web]\ngates = {{ test = "{gate}" }}\n')
    submit_work(rt, "w1", {"w1.txt": "1\n"})
    yield rt, pidfile
    for pid in pids_in(pidfile):  # whatever the outcome, no sleep outlives the test
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    rt.close()


def test_kill_9_then_restart_kills_the_old_gate_before_a_new_gate_starts(long_gate, tmp_path):
    rt, pidfile = long_gate
    log = str(tmp_path / "engine.log")
    proc = start_engine(rt.town.root, log)
    try:
        wait_for(lambda: len(pids_in(pidfile)) == 2)
        first = pids_in(pidfile)
        proc.kill()  # kill -9: no clean-up code runs
        proc.wait(10)
        time.sleep(0.3)
        assert all(alive(p) for p in first)  # the engine could not take them along
        proc = start_engine(rt.town.root, log)
        wait_for(lambda: len(pids_in(pidfile)) == 4, timeout=60)  # the new engine's gate
        assert not any(alive(p) for p in first), "the earlier engine's gate is still running"
        overlap = Path(f"{pidfile}.overlap")
        assert not overlap.exists(), "two gates ran at once: " + overlap.read_text()
        text = Path(log).read_text()
        assert "left running by an earlier engine" in text and "Traceback" not in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert not any(alive(p) for p in pids_in(pidfile))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_clean_stop_kills_the_running_gate_before_the_engine_exits(long_gate, tmp_path, sig):
    rt, pidfile = long_gate
    log = tmp_path / "engine.log"
    proc = start_engine(rt.town.root, str(log))
    try:
        wait_for(lambda: len(pids_in(pidfile)) == 2)
        proc.send_signal(sig)
        assert proc.wait(30) == 0
        # checked at once: gone when the engine has exited, not some time later
        assert [p for p in pids_in(pidfile) if alive(p)] == []
        assert os.listdir(os.path.join(rt.town.state_dir, "gates")) == []  # nothing to sweep
        text = log.read_text()
        assert "engine stopped" in text and "Traceback" not in text
        # the request was not failed by the shutdown: it waits for the next engine
        mr = rt.ledger.beads.list(bead_type="merge-request")[0]
        assert rt.ledger.mq.get(mr["id"])["state"] in ("queued", "testing")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_an_app_attaching_to_a_running_engine_leaves_its_gates_alone(long_gate, tmp_path):
    """Only the engine that holds the town sweeps: an attached app's gates are not orphans."""
    import asyncio

    from engine.engine import Engine

    rt, pidfile = long_gate
    proc = start_engine(rt.town.root, str(tmp_path / "engine.log"))
    try:
        wait_for(lambda: len(pids_in(pidfile)) == 2)

        async def attach_and_leave() -> str:
            engine = Engine(rt.town)
            await engine.start(attach_if_running=True)
            await engine.stop()
            return engine.mode

        assert asyncio.run(attach_and_leave()) == "attached"
        assert all(alive(p) for p in pids_in(pidfile))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_a_leftover_gate_record_never_kills_a_process_that_is_not_ours(tmp_path):
    """A recorded pid that now belongs to someone else (pid reuse) is left alone."""
    import subprocess

    from engine.refinery.gates import GateRunner

    state = tmp_path / "state"
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        runner = GateRunner(str(state))
        runner.records.write(
            {"pid": bystander.pid, "pgid": bystander.pid, "start": 1, "token": "x" * 32}
        )
        assert runner.sweep() == []
        assert bystander.poll() is None
        assert runner.records.all() == []  # the stale record is gone all the same
    finally:
        bystander.kill()
        bystander.wait()


def test_what_a_gate_leaves_behind_dies_with_it_even_outside_its_process_group(tmp_path):
    """A gate that starts a daemon in a new session and exits 0 takes the daemon along."""
    from engine.refinery.gates import GateRunner

    pidfile = tmp_path / "daemon.pid"
    runner = GateRunner(str(tmp_path / "state"))
    result = runner.run(
        [("test", f"setsid sleep 600 & echo $! > {pidfile}; exit 0")],
        str(tmp_path),
        str(tmp_path / "gate.log"),
        hooks_dir=str(tmp_path / "hooks"),
        timeout=30,
        label="daemon",
    )
    assert result.ok
    daemon = pids_in(pidfile)[0]
    try:
        assert not alive(daemon)
        assert runner.records.all() == []
    finally:
        with contextlib.suppress(OSError):
            os.kill(daemon, signal.SIGKILL)


# ---- the gate's environment ----------------------------------------------------------------

SECRETS = {
    "SECRET_TOKEN": "s3cr3t-token",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-key",
    "ANTHROPIC_API_KEY": "sk-ant-test",
}


def gate_env_of(tmp_path: Path, monkeypatch, rig: dict) -> dict[str, str]:
    monkeypatch.setenv("SHELL", "/bin/sh")
    for key, value in {**SECRETS, "GATE_CACHE_DIR": "/tmp/cache"}.items():
        monkeypatch.setenv(key, value)
    dump = tmp_path / "gate.env"
    data = {"rigs": {"web": {"gates": {"test": f"env > {dump} && sh test.sh"}, **rig}}}
    rt = RealTown(
        tmp_path / "t",
        TownConfig.model_validate(data),
        files={"README.md": "# demo\n", "test.sh": "exit 0\n"},
    )
    try:
        _, mr = submit_work(rt, "w1", {"w1.txt": "1\n"})
        refinery = Refinery(rt.town, rt.ledger, "web", rt.config)
        while refinery.process_once():
            pass
        landed = rt.ledger.mq.get(mr)
        assert landed is not None and landed["state"] == "landed"
    finally:
        rt.close()
    env = {}
    for line in dump.read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    return env


def test_gates_do_not_get_the_engines_secrets(tmp_path, monkeypatch):
    env = gate_env_of(tmp_path, monkeypatch, {})
    leaked = sorted(k for k in SECRETS if k in env) + sorted(
        k for k, v in env.items() if v in SECRETS.values()
    )
    assert leaked == []
    assert "GATE_CACHE_DIR" not in env
    assert env["HOME"] == os.environ["HOME"] and env["PATH"]  # the allowlist still applies
    assert env["GIT_CONFIG_KEY_0"] == "core.hooksPath"  # hooks stay off inside gates


def test_a_rigs_gate_env_passes_exactly_the_names_it_lists(tmp_path, monkeypatch):
    env = gate_env_of(tmp_path, monkeypatch, {"gate_env": ["GATE_CACHE_DIR", "NOT_SET_HERE"]})
    assert env["GATE_CACHE_DIR"] == "/tmp/cache"
    assert "NOT_SET_HERE" not in env
    assert not any(k in env for k in SECRETS)


@pytest.mark.parametrize("bad", ['["A B"]', '["1X"]', '"HOME"', '["X=1"]', "[5]", '["A\\n"]'])
def test_a_bad_gate_env_is_a_one_line_config_error(tmp_path, bad):
    from engine.config import load_config
    from engine.errors import GtError

    path = tmp_path / "town.toml"
    path.write_text(f"[rigs.web]\ngate_env = {bad}\n")
    with pytest.raises(GtError, match=r"rigs\.web\.gate_env") as err:
        load_config(str(path))
    assert "\n" not in err.value.message
