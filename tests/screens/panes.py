"""Panes for recording the real CLIs' screens (tests.screens.record): one CLI in a session of
a private tmux server, captured exactly as the witness captures; a scratch git workspace."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.agent_clis import RUN_MARKER, _processes_with, pinned_version

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCREEN_LINES = 50  # what the witness captures (engine.polecats.screens.SCREEN_LINES)
WIDTH, HEIGHT = 200, 50  # the fleet's session size (engine.adapters.tmux.Tmux.new_session)


class Pane:
    """One CLI in a session of a private tmux server; every process it starts carries a
    marker, so none survives `close`."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.socket = f"gt-screens-{uuid.uuid4().hex[:8]}"
        self.marker = uuid.uuid4().hex
        env = {k: v for k, v in env.items() if k not in ("TERM", "NO_COLOR")}
        env[RUN_MARKER] = self.marker
        Path(env.get("TMPDIR", "/tmp")).mkdir(parents=True, exist_ok=True)
        command = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]
        # One tmux call: a CLI that exits at once still leaves its last screen (remain-on-exit
        # set before the session starts; a server with no session would not keep it).
        self.tmux(
            "start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";",
            "new-session", "-d", "-s", "cli", "-c", str(cwd),
            "-x", str(WIDTH), "-y", str(HEIGHT), "--", *command,
        )  # fmt: skip

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30
        )
        return done.stdout

    def capture(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-S", f"-{SCREEN_LINES}", "-t", "=cli:")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "=cli:", *keys)

    def type(self, text: str) -> None:
        # text and Enter apart: Codex and Gemini do not submit text and Enter in one send
        self.tmux("send-keys", "-t", "=cli:", "-l", "--", text)
        time.sleep(0.5)
        self.keys("Enter")

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.capture()
            if text in screen:
                return screen
            time.sleep(0.25)
        raise TimeoutError(f"{text!r} not on the screen after {timeout}s:\n{self.capture()}")

    def close(self) -> None:
        self.tmux("kill-server")
        # tmux leaves its socket file behind
        socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (socket_dir / self.socket).unlink(missing_ok=True)
        for pid in _processes_with(self.marker):
            subprocess.run(["kill", "-9", str(pid)], check=False)
        deadline = time.monotonic() + 5
        while _processes_with(self.marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = _processes_with(self.marker)
        if left:
            raise RuntimeError(f"processes survived: {left}")


class Recorder:
    def __init__(self, cli: str, out: Path = FIXTURES) -> None:
        self.cli = cli
        self.dir = out / f"{cli}-{pinned_version(cli)}"  # type: ignore[arg-type]
        self.dir.mkdir(parents=True, exist_ok=True)

    def save(self, pane: Pane, name: str, screen: str | None = None) -> None:
        n = 1
        while (self.dir / f"{name}-{n}.txt").exists():
            n += 1
        (self.dir / f"{name}-{n}.txt").write_text(screen if screen is not None else pane.capture())
        print(f"  saved {self.dir.name}/{name}-{n}.txt")


@contextmanager
def workspace() -> Iterator[tuple[Path, Path]]:
    root = Path(tempfile.mkdtemp(prefix="gt-screens-"))
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "notes.txt").write_text("hello\n")
    try:
        yield root, repo
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running(argv: list[str], cwd: Path, env: dict[str, str]) -> Iterator[Pane]:
    pane = Pane(argv, cwd, env)
    try:
        yield pane
    finally:
        pane.close()
