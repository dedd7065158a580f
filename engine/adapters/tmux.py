"""The tmux adapter: one private tmux server per town; every tmux call of the project.

The server runs on its own socket (`tmux -L <name>`), derived from the town's path, so the
person's own tmux server is never touched and two towns never collide. The server is
started with a minimal environment: secrets never reach its global environment; each
session gets exactly the variables it is given.

The town's server is a libtmux `Server`; every command goes through its `cmd`, which this
module runs itself (see `_town_server_class`). Sessions and panes are addressed by exact
targets (`=name`, `=name:`) on that command path rather than through libtmux's `Session` /
`Pane` methods: those refresh through a path that bypasses `cmd` (so the environment
allowlist), type without `--`, match session names by prefix, or cost one lookup call more
per action.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

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

# Where tmux puts its sockets: every client of the town (the engine, `gt attach` run with
# the person's environment, kill_server's cleanup) must agree on it, so it travels too.
SOCKET_DIR_VAR = "TMUX_TMPDIR"

# One line per pane: the five fields the fleet watches.
PANE_FORMAT = (
    "#{session_name}\t#{pane_pid}\t#{pane_dead}\t#{pane_current_command}\t#{window_activity}"
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


def client_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every tmux client of the town runs with; the client that starts the
    server hands it to the server as its global environment, so nothing else is in it."""
    source = os.environ if environ is None else environ
    env = {k: source[k] for k in (*SERVER_ENV_ALLOW, SOCKET_DIR_VAR) if k in source}
    env.setdefault("TERM", "xterm-256color")
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return env


class Result:
    """A tmux command's outcome in libtmux's shape (`stdout`/`stderr` as lines,
    `returncode`), plus the finished process for callers that want tmux's output verbatim."""

    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.completed = proc
        self.cmd = [str(a) for a in proc.args]
        self.returncode = proc.returncode
        out = proc.stdout.split("\n")
        while out and out[-1] == "":
            out.pop()
        self.stdout = out
        self.stderr = [line for line in proc.stderr.split("\n") if line]


class TownServer(Protocol):
    """What the adapter uses of its libtmux Server (see `_town_server_class`)."""

    socket_name: str | None

    def cmd(
        self,
        cmd: str,
        *args: Any,
        target: str | int | None = None,
        timeout: float = 30,
        input: str | None = None,
    ) -> Result: ...

    def has_session(self, target_session: str, exact: bool = True) -> bool: ...

    def kill(self) -> None: ...


class _EncodedStdout:
    """The stdout in place, plus the `encoding` attribute libtmux reads."""

    encoding = "utf-8"

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextlib.contextmanager
def _stdout_with_encoding() -> Iterator[None]:
    # libtmux reads sys.stdout.encoding when imported; inside the app Textual's print
    # capture stands in for stdout and has none. Writes still go to whatever stood there.
    out = sys.stdout
    if hasattr(out, "encoding"):
        yield
        return
    wrapper = _EncodedStdout(out)
    sys.stdout = wrapper
    try:
        yield
    finally:
        if sys.stdout is wrapper:
            sys.stdout = out


@functools.cache
def _town_server_class() -> type[TownServer]:
    """libtmux's Server with our command path; imported only once a tmux server is wanted
    (libtmux costs ~60 ms to import: `gt` commands that never touch tmux don't pay it)."""
    with _stdout_with_encoding():
        from libtmux import Server

    class LibtmuxTownServer(Server):
        """The town's libtmux Server: its one command path runs with the allowlisted
        environment and a timeout."""

        def __init__(self, socket: str, env: dict[str, str]) -> None:
            super().__init__(socket_name=socket)
            self.env = env

        def cmd(  # type: ignore[override]  # Server.cmd's shape plus a timeout and input
            self,
            cmd: str,
            *args: Any,
            target: str | int | None = None,
            timeout: float = 30,
            input: str | None = None,
        ) -> Result:
            # libtmux's tmux_cmd inherits os.environ (secrets would reach a server it
            # starts) and has no timeout, so the same argv is run here instead.
            argv = ["tmux", f"-L{self.socket_name}", cmd]
            if target is not None:
                argv += ["-t", str(target)]
            argv += [str(a) for a in args]
            try:
                proc = subprocess.run(
                    argv,
                    env=self.env,
                    text=True,
                    capture_output=True,
                    timeout=timeout,
                    input=input,
                    stdin=None if input is not None else subprocess.DEVNULL,
                )
            except FileNotFoundError:
                raise TmuxError("tmux is not installed (or not on PATH)") from None
            except subprocess.TimeoutExpired:
                raise TmuxError(f"tmux {cmd} did not answer within {int(timeout)}s") from None
            return Result(proc)

    return LibtmuxTownServer


def _check(result: Result, what: str) -> Result:
    if result.returncode != 0:
        msg = result.stderr or result.stdout
        raise TmuxError(f"tmux {what} failed: {msg[-1] if msg else result.returncode}")
    return result


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket
        self._env = client_env()
        self.server: TownServer = _town_server_class()(socket, self._env)  # type: ignore[call-arg]

    def run(
        self, *args: str, check: bool = True, timeout: float = 30, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Any tmux command on the town's server, tmux's output verbatim."""
        result = self.server.cmd(*args, timeout=timeout, input=input)
        if check:
            _check(result, args[0])
        return result.completed

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
        # Not Server.new_session: it takes the command as one string a shell parses, and
        # asks has-session and `tmux -V` first (three calls where one does).
        args = ["-d", "-s", name, "-c", cwd, "-x", str(width), "-y", str(height)]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        _check(self.server.cmd("new-session", *args, "--", *argv), "new-session")

    def has_session(self, name: str) -> bool:
        from libtmux.exc import BadSessionName  # loaded with the server

        try:
            return self.server.has_session(name, exact=True)
        except BadSessionName:
            return False  # tmux never names a session with '.' or ':'

    def kill_session(self, name: str) -> None:
        # Not Server.kill_session: its target matches by prefix, and a gone session raises.
        self.server.cmd("kill-session", target=f"={name}")

    def pipe_to_file(self, name: str, path: str) -> None:
        # pipe-pane takes a shell command; the path is ours (validated), quoted anyway.
        cat = f"cat >> {shlex.quote(path)}"
        _check(self.server.cmd("pipe-pane", "-o", cat, target=f"={name}:"), "pipe-pane")

    def panes(self) -> list[Pane]:
        """The whole fleet in one call (never one subprocess per agent)."""
        # Not Server.panes: it runs tmux outside `cmd` (whole environment, no timeout), and
        # asks for every pane field tmux has where the fleet watches five.
        result = self.server.cmd("list-panes", "-a", "-F", PANE_FORMAT)
        if result.returncode != 0:
            return []  # no server yet: no sessions
        out = []
        for line in result.stdout:
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
        # Not Pane.send_keys: it puts no `--` before the text, so text starting with '-'
        # would be read as flags.
        target = f"={name}:"
        _check(self.server.cmd("send-keys", "-l", "--", text, target=target), "send-keys")
        if enter:
            _check(self.server.cmd("send-keys", "Enter", target=target), "send-keys")

    def capture(self, name: str, lines: int = 50) -> str:
        result = self.server.cmd("capture-pane", "-p", "-J", "-S", f"-{lines}", target=f"={name}:")
        return _check(result, "capture-pane").completed.stdout

    def attach(self, name: str) -> int:
        """Attach this terminal to a session until the person detaches (also from inside
        their own tmux: the nested client is told it is not nested)."""
        env = {k: v for k, v in os.environ.items() if k != "TMUX"}
        if not self.has_session(name):
            raise TmuxError(f"no session {name}")
        # Own call, not libtmux: attaching hands this terminal to tmux until it returns.
        return subprocess.call(self.attach_argv(name), env=env)

    def attach_argv(self, name: str) -> list[str]:
        return ["tmux", "-L", self.socket, "attach-session", "-t", f"={name}"]

    def socket_path(self) -> str:
        """Where the server's socket is: the folder the clients' TMUX_TMPDIR names."""
        folder = self._env.get(SOCKET_DIR_VAR) or "/tmp"
        return os.path.join(folder, f"tmux-{os.getuid()}", self.socket)

    def kill_server(self) -> None:
        from libtmux.exc import LibTmuxException  # loaded with the server

        with contextlib.suppress(LibTmuxException):
            self.server.kill()  # no server running is not an error here
        # tmux leaves its socket file behind when killed; a town that is gone needs neither
        with contextlib.suppress(OSError):
            os.unlink(self.socket_path())
