"""No secret on any command line: a session's environment (API keys, the agent's token)
reaches the runtime through a file only the owner can read, which the launcher deletes."""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import vocab
from tests.conftest import REPO


def all_cmdlines() -> dict[int, bytes]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    out[int(entry)] = fh.read()
            except OSError:
                continue  # the process ended while we looked
    return out


def wait_for(pred, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_runtime_key_reaches_the_runtime_and_no_command_line(
    real_town_factory, monkeypatch, tmp_path: Path
):
    secret = "sk-ant-test-" + secrets.token_hex(16)
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    dump = tmp_path / "env.dump"
    rt = real_town_factory(
        {
            "runtime": {
                "default": "dumper",
                "dumper": {
                    "argv": ["sh", "-c", f"env > {dump}.tmp && mv {dump}.tmp {dump}; sleep 60"],
                    "env": ["ANTHROPIC_API_KEY"],
                },
            }
        }
    )
    bead = rt.ledger.beads.create("dump env", rig="web", slung=True)["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_PROGRESS)
    wait_for(dump.exists)
    # the runtime got the key (and its identity) in its environment
    env = dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)
    assert env.get("ANTHROPIC_API_KEY") == secret
    assert env.get("GT_AGENT_ID") == "web/polecats/Toast"
    # `gt` comes first on PATH through a folder holding nothing else: gastown's venv
    # (its python, its pip) never shadows the agent's own tools
    path = env["PATH"].split(os.pathsep)
    assert path[0] == os.path.join(rt.town.state_dir, "bin")
    assert os.listdir(path[0]) == ["gt"]
    assert os.path.dirname(sys.executable) not in path
    # while the session runs, no process on the machine shows it on its command line
    assert rt.fleet.tmux.has_session("web+Toast")
    leaks = {pid: cmd for pid, cmd in all_cmdlines().items() if secret.encode() in cmd}
    assert leaks == {}, leaks
    # nor does the tmux server hold it in its global or the session's environment
    for args in (["show-environment", "-g"], ["show-environment", "-t", "web+Toast"]):
        out = rt.fleet.tmux.run(*args, check=False).stdout
        assert secret not in out
    # the file that carried it is gone; its folder is private
    folder = Path(rt.town.state_dir) / "sessions"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert list(folder.iterdir()) == []


def test_the_session_file_is_private_whatever_the_umask(tmp_path: Path):
    from engine.polecats import launch

    old = os.umask(0)
    try:
        path = launch.write_env_file(
            str(tmp_path / "state" / "sessions"), "web+Toast", {"K": "s3cr3t-xyzzy"}
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert "s3cr3t" not in path  # the path names the session, never a value


def run_launcher(env_file: str, prompt: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.polecats.launch", env_file, prompt, "--", *argv],
        capture_output=True,
        text=True,
        cwd=str(REPO),
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        timeout=30,
    )


def test_launcher_reads_the_file_deletes_it_and_gives_the_runtime_its_variables(tmp_path: Path):
    from engine.polecats import launch

    prompt = tmp_path / "PROMPT.md"
    prompt.write_text("do it")
    out = tmp_path / "out"
    path = launch.write_env_file(
        str(tmp_path / "sessions"), "s", {"SECRET": "xyzzy", "GT_TOWN": str(tmp_path)}
    )
    res = run_launcher(path, str(prompt), "sh", "-c", f'echo "$SECRET" > {out}')
    assert res.returncode == 0, res.stderr
    assert out.read_text().strip() == "xyzzy"
    assert not os.path.exists(path)


def test_launcher_refuses_a_session_file_others_can_read(tmp_path: Path):
    from engine.polecats import launch

    prompt = tmp_path / "PROMPT.md"
    prompt.write_text("do it")
    out = tmp_path / "out"
    path = launch.write_env_file(str(tmp_path / "sessions"), "s", {"SECRET": "xyzzy"})
    os.chmod(path, 0o644)
    res = run_launcher(path, str(prompt), "sh", "-c", f"echo ran > {out}")
    assert res.returncode == 1
    assert len(res.stderr.strip().splitlines()) == 1 and "readable" in res.stderr
    assert not out.exists()


def test_session_files_a_launcher_never_read_are_swept(tmp_path: Path):
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.polecats import launch
    from engine.polecats.fleet import TmuxFleet
    from engine.town import init_town

    town = init_town(str(tmp_path / "town"))
    ledger = Ledger(town.ledger_target)
    try:
        fleet = TmuxFleet(town, TownConfig(), ledger)
        old = launch.write_env_file(fleet.sessions_dir, "web+Toast", {"KEY": "secret"})
        fresh = launch.write_env_file(fleet.sessions_dir, "web+Maple", {"KEY": "secret"})
        os.utime(old, (time.time() - 3600, time.time() - 3600))
        fleet.on_engine_start()
        assert not os.path.exists(old)
        assert os.path.exists(fresh)  # a launcher may be about to read it
    finally:
        ledger.close()
