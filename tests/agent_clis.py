"""The real agent CLIs for tests: where the pinned binaries are (agents/), a config home for
each run that is never the machine's own, and a runner that leaves no process behind.

A test that needs a CLI calls ``agent_cli("claude")``: it installs the pinned CLIs on first
use (``agents/install``, quiet when already done) and skips only where npm or node is absent.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

REPO = Path(__file__).resolve().parent.parent
AGENTS = REPO / "agents"
BIN = AGENTS / "node_modules" / ".bin"
CliName = Literal["claude", "codex", "gemini"]
# Every process a run starts inherits this variable; a survivor is found by it even if it
# left the process group (a daemon that called setsid).
RUN_MARKER = "GT_AGENT_TEST_RUN"


@functools.cache
def _install() -> None:
    done = subprocess.run([str(AGENTS / "install")], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"agents/install failed:\n{done.stdout}{done.stderr}")


def agent_cli(name: CliName) -> Path:
    """The pinned binary of one CLI, installed on first use."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"{' and '.join(missing)} not found: "
            "the real agent CLIs cannot be installed (agents/install)"
        )
    _install()
    return BIN / name


def pinned_version(name: CliName) -> str:
    """The version agents/package.json pins for a CLI."""
    package = {
        "claude": "@anthropic-ai/claude-code",
        "codex": "@openai/codex",
        "gemini": "@google/gemini-cli",
    }[name]
    return str(json.loads((AGENTS / "package.json").read_text())["dependencies"][package])


def base_env(home: Path) -> dict[str, str]:
    """A clean environment: none of this machine's keys, settings or config homes."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "TMPDIR": str(home / "tmp"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
    }


def claude_env(home: Path, base_url: str, workdir: Path) -> dict[str, str]:
    """Claude Code on a scripted server: token auth (no API-key dialog), onboarding and
    workspace trust already done, root allowed to skip permissions (IS_SANDBOX)."""
    env = base_env(home)
    config_dir = home / ".claude"
    config_dir.mkdir(parents=True, exist_ok=True)
    state = {
        "hasCompletedOnboarding": True,
        "projects": {str(workdir): {"hasTrustDialogAccepted": True}},
    }
    (config_dir / ".claude.json").write_text(json.dumps(state))
    env.update(
        CLAUDE_CONFIG_DIR=str(config_dir),
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_AUTH_TOKEN="scripted-token",
        IS_SANDBOX="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_TELEMETRY="1",
        DISABLE_AUTOUPDATER="1",
    )
    return env


CODEX_MODEL = "gpt-5.5"  # one in Codex's own catalogue, so it offers apply_patch


def codex_env(home: Path, base_url: str, workdir: Path, retries: int = 0) -> dict[str, str]:
    """Codex on a scripted server: a Responses-API provider in a private CODEX_HOME."""
    env = base_env(home)
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(
        f'model = "{CODEX_MODEL}"\n'
        'model_provider = "scripted"\n'
        f'[projects."{workdir}"]\ntrust_level = "trusted"\n'
        "[model_providers.scripted]\n"
        'name = "scripted"\n'
        f'base_url = "{base_url}/v1"\n'
        'env_key = "SCRIPTED_API_KEY"\n'
        'wire_api = "responses"\n'
        f"request_max_retries = {retries}\n"
        f"stream_max_retries = {retries}\n"
    )
    env.update(CODEX_HOME=str(codex_home), SCRIPTED_API_KEY="scripted-key")
    return env


def gemini_env(home: Path, base_url: str) -> dict[str, str]:
    """Gemini CLI on a scripted server: API-key auth selected in a private settings file,
    the workspace trusted up front (else YOLO is switched off)."""
    env = base_env(home)
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    env.update(
        GOOGLE_GEMINI_BASE_URL=base_url,
        GEMINI_API_KEY="scripted-key",
        GEMINI_CLI_TRUST_WORKSPACE="true",
    )
    return env


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    # Processes of the run still alive when the CLI itself had exited (then killed).
    left_running: list[str] = field(default_factory=list)

    def jsonl(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]


def _processes_with(marker: str) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"{RUN_MARKER}={marker}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
        except OSError:
            continue
    return found


def _kill_all(marker: str, group: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    for pid in _processes_with(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def run_cli(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> CliRun:
    """Run a CLI headless with stdin closed, in its own process group; afterwards kill the
    group and anything else carrying the run's marker, and check that nothing survives."""
    marker = uuid.uuid4().hex
    env = dict(env, **{RUN_MARKER: marker})
    Path(env.get("TMPDIR", "/tmp")).mkdir(parents=True, exist_ok=True)
    out_path, err_path = cwd.parent / f"{marker}.out", cwd.parent / f"{marker}.err"
    started = time.monotonic()
    # Files, not pipes: a child that outlives the CLI would hold a pipe open.
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        seconds = time.monotonic() - started
        left = [f"{pid} {cmd}" for pid, cmd in _processes_with(marker).items() if pid != proc.pid]
        _kill_all(marker, proc.pid)
        proc.wait(timeout=10)
    run = CliRun(proc.returncode, out_path.read_text(), err_path.read_text(), seconds, left)
    deadline = time.monotonic() + 5
    while (survivors := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not survivors, f"processes of {argv[0]} survived the kill: {survivors}"
    if timed_out:
        pytest.fail(
            f"{Path(argv[0]).name} did not finish in {timeout} s\n"
            f"stdout:\n{run.stdout[-3000:]}\nstderr:\n{run.stderr[-3000:]}"
        )
    return run
