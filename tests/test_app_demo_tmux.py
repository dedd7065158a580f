"""The real `gastown --demo` in a real terminal, driven by keys as a new user would.

The app runs inside a tmux server on its own private socket (never the person's tmux), at
a fixed size, with HOME and XDG_DATA_HOME in a temporary directory. The test reads the
screen with `capture-pane` and types with `send-keys`: it waits for agents to work, slings
a bead from the sling dialog and sees it land (the demo's gate is real), attaches to a
working polecat (the app suspends; the polecat's own tmux pane shows in the terminal),
checks that the town keeps dispatching while the person is attached, detaches with the
inner tmux's `C-b d`, and quits with `q`: exit 0, no traceback anywhere, and no session
left on the town's private socket that is not a live agent of the ledger.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.adapters.tmux import socket_name
from engine.ledger import Ledger
from engine.polecats.fleet import agent_of_session, session_of_agent
from engine.town import Town
from tests.cli_support import gastown_argv

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

REPO = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 200, 50
RIGS_WIDTH = 34  # the Rigs tree's column (styles/app.tcss)
EXIT_MARK = "__GASTOWN_EXIT="


def gt_argv() -> list[str]:
    exe = Path(sys.executable).parent / "gt"
    if os.access(exe, os.X_OK):
        return [str(exe)]
    return [sys.executable, "-m", "engine.cli.main"]


class Terminal:
    """One tmux pane on a private server: type into it, read its screen."""

    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env
        self.target = "app:0.0"

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=self.env,
            text=True,
            capture_output=True,
            check=check,
            timeout=20,
        )

    def start(self, command: str, cwd: str) -> None:
        self.tmux(
            "new-session", "-d", "-s", "app", "-x", str(WIDTH), "-y", str(HEIGHT), "-c", cwd,
            "--", "/bin/sh", "-c", command,
        )  # fmt: skip

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.target).stdout

    def history(self) -> str:
        return self.tmux("capture-pane", "-p", "-S", "-", "-t", self.target).stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.target, "-l", "--", text)

    def wait(
        self, what: str, cond: Callable[[str], object], timeout: float = 20.0
    ) -> tuple[str, object]:
        """Poll the screen until cond(screen) is truthy; fail showing the screen if not."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            assert "Traceback" not in screen, f"a traceback on screen:\n{screen}"
            found = cond(screen)
            if found:
                return screen, found
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; the screen:\n{screen}")

    def kill(self) -> None:
        self.tmux("kill-server", check=False)


def rig_rows(screen: str) -> list[str]:
    """The Rigs tree's rows as shown (inside its border)."""
    rows = []
    for line in screen.splitlines()[2:]:
        cell = line[1 : RIGS_WIDTH - 1]
        if not cell.strip() or line.startswith("╰"):
            continue
        rows.append(cell.rstrip())
    return rows


def working_polecats(screen: str) -> list[str]:
    return [
        m.group(1)
        for row in rig_rows(screen)
        if (m := re.search(r"● (\w+) working\s+\S+-\w+", row))
    ]


def followed(screen: str) -> str | None:
    m = re.search(r"Live log · (\w+)", screen)
    return m.group(1) if m else None


def bead_row(screen: str, title: str) -> str | None:
    return next((ln for ln in screen.splitlines() if title in ln), None)


def tmux_sessions(socket: str) -> list[str]:
    proc = subprocess.run(
        ["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"],
        text=True,
        capture_output=True,
        timeout=20,
    )
    return proc.stdout.split() if proc.returncode == 0 else []


@pytest.fixture
def terminal(tmp_path: Path):
    home = tmp_path / "home"
    (home / ".local" / "share").mkdir(parents=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TMUX", "GT_", "GASTOWN_")) and k != "PYTHONPATH"
    }
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        SHELL="/bin/sh",
        TERM="xterm-256color",
        LANG=os.environ.get("LANG", "C.UTF-8"),
        # the repository first: an editable install made before a package was added to
        # the project (e.g. `styles`) does not map it
        PYTHONPATH=str(REPO),
    )
    term = Terminal(f"gt-test-{uuid.uuid4().hex[:10]}", env)
    demo = tmp_path / "demo"
    try:
        yield term, demo
    finally:
        term.kill()
        # polecats outlive the app by design (the next engine adopts them): end them here
        subprocess.run(
            ["tmux", "-L", socket_name(str(demo)), "kill-server"],
            capture_output=True,
            timeout=20,
        )


def test_a_new_user_drives_the_demo_town_by_keys(terminal) -> None:
    term, demo = terminal
    cmd = shlex.join([*gastown_argv(), "--demo", str(demo)])
    term.start(f'{cmd}; echo "{EXIT_MARK}$?"; exec sleep 600', cwd=str(demo.parent))

    # 1. agents at work: a polecat shown working in Rigs, its log streaming in Live log
    screen, _ = term.wait(
        "polecats working and their log streaming",
        lambda s: working_polecats(s) and "[script] working on" in s,
    )
    assert "Gas Town" in screen and "engine: embedded" in screen
    assert " s Sling" in screen and " q Quit" in screen

    led = Ledger(Town(str(demo)).ledger_target)
    sock = socket_name(str(demo))
    try:
        # 2. attach to a working polecat. So that it is still at work while we watch it,
        #    slow work is slung from another terminal first (the demo's beads are short).
        watched = gt_sling(term.env, demo, "Long task to watch", "calc", body=LONG_SCRIPT)
        assert watched["agent"], watched
        agent = watched["agent"]
        term.wait(f"{agent} at work", lambda s: agent in working_polecats(s), timeout=15)
        # focus Rigs (shift+tab from the bead table, twice), walk down to that polecat
        term.keys("BTab")
        term.keys("BTab")
        for _ in range(16):
            term.keys("Down")
            time.sleep(0.2)
            screen = term.screen()
            if followed(screen) == agent:
                break
        assert followed(screen) == agent, f"could not select {agent} in Rigs:\n{screen}"
        before = screen
        session = session_of_agent(f"calc/polecats/{agent}")
        term.keys("a")
        # the inner tmux client fills the terminal: the polecat's output and tmux's status
        # line naming its session; the app's footer is gone
        screen, _ = term.wait(f"the pane of {agent} ({session})", attached_to(session))
        assert f"on {watched['id']}" in screen or "[script]" in screen, screen

        # while the person watches a polecat, the engine keeps the town running:
        # a bead slung from another terminal is dispatched (its session is started)
        other = gt_sling(term.env, demo, "Slung while attached", "web")
        deadline = time.monotonic() + 10
        while not dispatched(led, sock, other["id"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        screen = term.screen()
        assert attached_to(session)(screen), f"no longer attached:\n{screen}"
        assert dispatched(led, sock, other["id"]), (
            "the engine did not dispatch while the app was suspended in `tmux attach`: "
            f"{led.beads.require(other['id'])['status']}; sessions: {tmux_sessions(sock)}"
        )

        # detach with the inner tmux's prefix + d: the app is back where it was
        term.keys("C-b", "d")
        screen, _ = term.wait(
            "the app back on screen",
            lambda s: f"back from {agent}'s pane" in s and " s Sling" in s,
        )
        assert screen.splitlines()[0] == before.splitlines()[0]
        assert followed(screen) == agent
        for title in ("Rigs", "Convoy", "Beads · all", "Live log", "Mail (", "Merge queue ("):
            assert title in screen, f"{title!r} missing after detaching:\n{screen}"
        assert session in tmux_sessions(sock)  # detaching left the polecat at work

        # 3. sling a bead by keys: s, a title, enter; it shows in the table and lands
        title = "Note from the tmux test"
        term.keys("s")
        term.wait("the sling dialog", lambda s: "Sling work" in s)
        term.type(title)
        term.wait("the typed title", lambda s: title in s)
        term.keys("Enter")
        screen, _ = term.wait(
            "the new bead in the table", lambda s: "is on it!" in s or "is queued" in s
        )
        term.wait("the new bead's row", lambda s: bead_row(s, title))
        screen, _ = term.wait(
            "the new bead closed (its gate passed)",
            lambda s: "✓ closed" in (bead_row(s, title) or ""),
            timeout=40,
        )
        assert "Sling work" not in screen

        # 4. quit: exit status 0, no traceback, no orphan sessions
        term.keys("q")
        term.wait("the app to exit", lambda s: EXIT_MARK in s)
        history = term.history()
        assert f"{EXIT_MARK}0" in history, history
        assert "Traceback" not in history, history
        assert "Error" not in history.split(EXIT_MARK)[0], history

        live = {session_of_agent(a["id"]) for a in led.agents.list() if a["hook"]}
        sessions = tmux_sessions(sock)
        orphans = [s for s in sessions if agent_of_session(s) is None or s not in live]
        assert not orphans, f"sessions with no live agent: {orphans}; live: {sorted(live)}"
    finally:
        led.close()


LONG_SCRIPT = "```gt-script\nlog 600 0.1\n```\n"


def gt_sling(env: dict[str, str], town: Path, title: str, rig: str, body: str = "") -> dict:
    """`gt sling --title` from another terminal; returns its JSON result."""
    argv = [*gt_argv(), "--town", str(town), "sling", "--title", title, "--rig", rig, "--json"]
    if body:
        argv += ["--body", body]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)[0]


def dispatched(led: Ledger, sock: str, bead_id: str) -> bool:
    """The engine started a session on the bead (it is no longer merely hooked)."""
    if led.beads.require(bead_id)["status"] != "hooked":
        return True
    holder = next((a for a in led.agents.list() if a["hook"] == bead_id), None)
    return bool(holder and holder["status"] == "working") or any(
        agent_of_session(s) == (holder["id"] if holder else None) for s in tmux_sessions(sock)
    )


def attached_to(session: str) -> Callable[[str], bool]:
    """The screen shows tmux's own status line for `session` and not the app's footer."""

    def check(screen: str) -> bool:
        lines = screen.rstrip().splitlines()
        return bool(lines) and lines[-1].startswith("[" + session[:8]) and " s Sling" not in screen

    return check
