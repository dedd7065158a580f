"""Each real CLI started interactively in tmux WITHOUT its trust (and its other start-up
answers) set up front: the screen rules read its dialogs, their keys answer them through the
tmux adapter's literal send, and the CLI reaches its idle prompt (read twice in a row).
Nothing else is ever typed: a screen the rules call "needs you" or "crashed" fails the test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.adapters.tmux import Tmux
from engine.polecats.screens import ENTER, SCREEN_LINES, ScreenState, read_screen
from tests.agent_clis import (
    RUN_MARKER,
    _processes_with,
    agent_cli,
    claude_env,
    codex_env,
    gemini_env,
)
from tests.model_servers import AnthropicServer, GeminiServer, OpenAIResponsesServer, Script, Turn

pytestmark = pytest.mark.slow

STARTUP_SECONDS = 90


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux(f"gt-dialogs-{uuid.uuid4().hex[:8]}")
    try:
        yield server
    finally:
        server.kill_server()


def answer_until_idle(tmux: Tmux, session: str, runtime: str) -> list[str]:
    """What the witness does, in a loop: read the screen, answer a known dialog with its
    rule's keys (as TmuxFleet.send_keys types them), stop at the second idle reading in a
    row. Returns the dialogs answered, in order."""
    answered: list[str] = []
    idle = 0
    text = ""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        text = tmux.capture(session, SCREEN_LINES)
        reading = read_screen(runtime, text)
        assert reading.state not in (ScreenState.NEEDS_YOU, ScreenState.CRASHED), text
        idle = idle + 1 if reading.state == ScreenState.IDLE else 0
        if idle == 2:
            return answered
        if reading.state == ScreenState.DIALOG and answered[-1:] != [reading.rule]:
            answered.append(reading.rule)
            for key in reading.keys:
                tmux.send_literal(session, "" if key == ENTER else key, enter=key == ENTER)
        time.sleep(1.0)
    pytest.fail(f"{runtime} never reached its prompt; its screen:\n{text}")


def kill_marked(marker: str) -> None:
    deadline = time.monotonic() + 5
    while (left := _processes_with(marker)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    assert not _processes_with(marker), "a process of the CLI survived"


def start_to_prompt(
    tmux: Tmux, repo: Path, argv: list[str], env: dict[str, str], runtime: str
) -> list[str]:
    marker = uuid.uuid4().hex
    env = {k: v for k, v in env.items() if k not in ("TERM", "NO_COLOR")}  # tmux's own TERM
    env[RUN_MARKER] = marker
    Path(env["TMPDIR"]).mkdir(parents=True, exist_ok=True)
    # On tmux's command line: fine here, the keys are the scripted servers' fakes.
    command = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]
    tmux.new_session("cli", str(repo), command, {})
    try:
        return answer_until_idle(tmux, "cli", runtime)
    finally:
        tmux.kill_server()
        kill_marked(marker)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository, as a polecat's worktree is (Codex asks no trust outside one)."""
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    (path / "notes.txt").write_text("hello\n")
    return path


def test_claude_code_trust_and_bypass_dialogs_are_answered(
    tmux: Tmux, repo: Path, tmp_path: Path
) -> None:
    argv = [str(agent_cli("claude")), "--dangerously-skip-permissions"]
    with AnthropicServer(Script([Turn("Hi.")])) as server:
        # trust recorded for another folder only; no skipDangerousModePermissionPrompt
        env = claude_env(tmp_path / "home", server.url, tmp_path / "elsewhere")
        answered = start_to_prompt(tmux, repo, argv, env, "claude")
    assert answered == ["workspace-trust", "bypass-permissions"]


def test_codex_trust_and_model_dialogs_are_answered(tmux: Tmux, repo: Path, tmp_path: Path) -> None:
    argv = [str(agent_cli("codex")), "--no-daemon", "--dangerously-bypass-approvals-and-sandbox"]
    with OpenAIResponsesServer(Script([Turn("Hi.")])) as server:
        env = codex_env(tmp_path / "home", server.url, tmp_path / "elsewhere")
        answered = start_to_prompt(tmux, repo, argv, env, "codex")
    assert answered == ["workspace-trust", "model-migration"]


def test_gemini_trust_dialog_is_answered(tmux: Tmux, repo: Path, tmp_path: Path) -> None:
    argv = [str(agent_cli("gemini")), "--yolo"]
    with GeminiServer(Script([Turn("Hi.")])) as server:
        env = gemini_env(tmp_path / "home", server.url)
        del env["GEMINI_CLI_TRUST_WORKSPACE"]
        answered = start_to_prompt(tmux, repo, argv, env, "gemini")
    assert answered == ["workspace-trust"]
