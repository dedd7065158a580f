"""The tmux adapter: one private tmux server per town; every tmux call of the project.

The server runs on its own socket (`tmux -L <name>`), derived from the town's path, so the
person's own tmux server is never touched and two towns never collide. The server is
started with a minimal environment: secrets never reach its global environment; each
session gets exactly the variables it is given.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import subprocess
from typing import NamedTuple

from engine.errors import GtError

# What the tmux server itself may see of our environment.
SERVER_ENV_ALLOW = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TERM",
    "USER",
    "LOGNAME",
    "SHELL",
    "TMPDIR",
    "TZ",
)


class TmuxError(GtError):
    pass


class Pane(NamedTuple):
    session: str
    pane_pid: int
    dead: bool
    command: str
    activity: int


def socket_name(town_root: str) -> str:
    """Short and stable: Unix socket paths are limited to ~108 bytes."""
    digest = hashlib.sha1(os.path.realpath(town_root).encode()).hexdigest()[:12]
    return f"gastown-{digest}"


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket
        env = {k: os.environ[k] for k in SERVER_ENV_ALLOW if k in os.environ}
        env.setdefault("TERM", "xterm-256color")
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        self._env = env

    def run(
        self, *args: str, check: bool = True, timeout: float = 30, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run(
                ["tmux", "-L", self.socket, *args],
                env=self._env,
                text=True,
                capture_output=True,
                timeout=timeout,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise TmuxError("tmux is not installed (or not on PATH)") from None
        except subprocess.TimeoutExpired:
            raise TmuxError(f"tmux {args[0]} did not answer within {int(timeout)}s") from None
        if check and proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).strip().splitlines()
            raise TmuxError(f"tmux {args[0]} failed: {msg[-1] if msg else proc.returncode}")
        return proc

    def new_session(
        self,
        name: str,
        cwd: str,
        argv: list[str],
        env: dict[str, str],
        *,
        width: int = 200,
        height: int = 50,
    ) -> None:
        """Start a detached session running argv directly (no shell parses it).

        `env` goes on tmux's command line (`-e`), which any local user can read in
        /proc/*/cmdline of the client and of the server it may fork: never a secret here.
        Agents' environments travel by a private file (engine.polecats.launch). Nor does
        PATH arrive this way: tmux 3.3a gives the pane the client's PATH instead."""
        args = ["new-session", "-d", "-s", name, "-c", cwd, "-x", str(width), "-y", str(height)]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        self.run(*args, "--", *argv)

    def has_session(self, name: str) -> bool:
        return self.run("has-session", "-t", f"={name}", check=False).returncode == 0

    def kill_session(self, name: str) -> None:
        self.run("kill-session", "-t", f"={name}", check=False)

    def pipe_to_file(self, name: str, path: str) -> None:
        # pipe-pane takes a shell command; the path is ours (validated), quoted anyway.
        self.run("pipe-pane", "-o", "-t", f"={name}:", f"cat >> {shlex.quote(path)}")

    def panes(self) -> list[Pane]:
        """The whole fleet in one call (never one subprocess per agent)."""
        proc = self.run(
            "list-panes",
            "-a",
            "-F",
            "#{session_name}\t#{pane_pid}\t#{pane_dead}\t#{pane_current_command}"
            "\t#{window_activity}",
            check=False,
        )
        if proc.returncode != 0:
            return []  # no server yet: no sessions
        out = []
        for line in proc.stdout.splitlines():
            parts = line.split("\t")
            if len(parts) != 5:
                continue
            out.append(
                Pane(parts[0], int(parts[1] or 0), parts[2] == "1", parts[3], int(parts[4] or 0))
            )
        return out

    def send_literal(self, name: str, text: str, *, enter: bool = True) -> None:
        """Type text into a pane exactly as given: key names in it stay plain text.

        `-l` keeps key names literal but not control characters: \x03 is still Ctrl-C to
        the agent, ESC and CR still act. Whatever queued the text, none is ever typed."""
        from engine.safetext import has_control, visible

        if has_control(text):
            raise TmuxError(
                f"refusing to type {visible(text)[:60]!r} into {name}: it holds a control character"
            )
        self.run("send-keys", "-t", f"={name}:", "-l", "--", text)
        if enter:
            self.run("send-keys", "-t", f"={name}:", "Enter")

    def capture(self, name: str, lines: int = 50) -> str:
        proc = self.run("capture-pane", "-p", "-J", "-t", f"={name}:", "-S", f"-{lines}")
        return proc.stdout

    def attach(self, name: str) -> int:
        """Attach this terminal to a session until the person detaches (also from inside
        their own tmux: the nested client is told it is not nested)."""
        env = {k: v for k, v in os.environ.items() if k != "TMUX"}
        if not self.has_session(name):
            raise TmuxError(f"no session {name}")
        return subprocess.call(self.attach_argv(name), env=env)

    def attach_argv(self, name: str) -> list[str]:
        return ["tmux", "-L", self.socket, "attach-session", "-t", f"={name}"]

    def kill_server(self) -> None:
        self.run("kill-server", check=False)
        # tmux leaves its socket file behind when killed; a town that is gone needs neither
        folder = os.environ.get("TMUX_TMPDIR") or "/tmp"
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, f"tmux-{os.getuid()}", self.socket))
