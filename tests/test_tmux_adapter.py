"""The tmux adapter on libtmux: each test gets a private tmux server from libtmux's pytest
plugin (`server`, killed and its socket removed afterwards); the adapter drives it by name,
as the fleet drives a town's server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from libtmux import Server

from engine.adapters.tmux import Tmux, TmuxError

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

SECRETS = {"SECRET_TOKEN": "tok-7d1f-never-in-tmux", "ANTHROPIC_API_KEY": "sk-ant-never-in-tmux"}


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.fixture
def tmux(server: Server) -> Tmux:
    return Tmux(str(server.socket_name))


@pytest.fixture
def spawns(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every process started from now on (subprocess.run and libtmux's own Popen alike)."""
    started: list[list[str]] = []
    real = subprocess.Popen

    class Counting(real):  # type: ignore[misc,valid-type]
        def __init__(self, args, *a, **kw):  # type: ignore[no-untyped-def]
            started.append([str(x) for x in args])
            super().__init__(args, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", Counting)
    return started


def test_a_town_server_holds_none_of_the_engines_secrets(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    tmux = Tmux(str(server.socket_name))  # made while the secrets are in our environment
    tmux.new_session("web+Toast", str(tmp_path), ["sleep", "30"], {})

    global_env = "\n".join(server.cmd("show-environment", "-g").stdout)
    session_env = "\n".join(server.cmd("show-environment", "-t", "=web+Toast").stdout)
    assert "HOME=" in global_env  # the allowlisted part did arrive: this is the real listing
    for key, value in SECRETS.items():
        assert key not in global_env and value not in global_env
        assert key not in session_env and value not in session_env


def test_the_whole_fleet_is_observed_with_one_tmux_call(
    tmux: Tmux, tmp_path: Path, spawns: list[list[str]]
) -> None:
    assert tmux.panes() == []  # no server yet: nothing, and still one call
    assert len(spawns) == 1

    for name in ("web+Toast", "web+Nux", "api+Slit"):
        tmux.new_session(name, str(tmp_path), ["sleep", "30"], {})
    spawns.clear()
    panes = tmux.panes()

    assert len(spawns) == 1, spawns
    assert "list-panes" in spawns[0] and "-a" in spawns[0]
    assert sorted(p.session for p in panes) == ["api+Slit", "web+Nux", "web+Toast"]
    assert all(p.pane_pid > 0 and not p.dead and p.activity > 0 for p in panes)
    assert {p.command for p in panes} == {"sleep"}


def test_argv_runs_as_given_with_no_shell_between(tmux: Tmux, tmp_path: Path) -> None:
    out = tmp_path / "argv.json"
    words = ["$HOME", "a b", "; touch pwned", "*", "`id`", "-x"]
    script = "import json, sys; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))"
    tmux.new_session(
        "web+Toast", str(tmp_path), [sys.executable, "-c", script, str(out), *words], {}
    )
    wait_for(lambda: out.exists() and out.read_text() != "")
    assert json.loads(out.read_text()) == words
    assert not (tmp_path / "pwned").exists()


def test_sessions_are_named_exactly_never_by_prefix(tmux: Tmux, tmp_path: Path) -> None:
    tmux.new_session("web+Toast", str(tmp_path), ["sleep", "30"], {})
    assert tmux.has_session("web+Toast")
    assert not tmux.has_session("web+Toa")
    assert not tmux.has_session("web.Toast")  # a name tmux can never hold: no, not an error
    tmux.kill_session("web+Toa")  # must not kill web+Toast
    assert tmux.has_session("web+Toast")
    tmux.kill_session("web+Toast")
    assert not tmux.has_session("web+Toast")
    tmux.kill_session("web+Toast")  # already gone: quietly nothing


def test_typed_text_arrives_literally_and_control_characters_are_refused(
    tmux: Tmux, tmp_path: Path
) -> None:
    out = tmp_path / "typed.txt"
    reader = "import sys\nfor line in sys.stdin:\n    open(sys.argv[1], 'a').write(line)\n"
    tmux.new_session("web+Toast", str(tmp_path), [sys.executable, "-c", reader, str(out)], {})

    # starts with '-' (a flag without `--`), holds key names and a shell variable
    tmux.send_literal("web+Toast", "-n C-c Enter Escape $HOME")
    wait_for(lambda: out.exists() and out.read_text().endswith("\n"))
    assert out.read_text() == "-n C-c Enter Escape $HOME\n"

    for text in ("stop\x03", "\x1b[A", "two\rlines"):
        with pytest.raises(TmuxError, match="control character"):
            tmux.send_literal("web+Toast", text)
    tmux.send_literal("web+Toast", "after")
    wait_for(lambda: out.read_text().endswith("after\n"))
    assert out.read_text() == "-n C-c Enter Escape $HOME\nafter\n"  # nothing else got typed
    assert "after" in tmux.capture("web+Toast", 20)


def test_a_failing_command_raises_one_line(tmux: Tmux, tmp_path: Path) -> None:
    with pytest.raises(TmuxError, match="tmux capture-pane failed"):
        tmux.capture("web+Nobody")
    tmux.new_session("web+Toast", str(tmp_path), ["sleep", "30"], {})
    with pytest.raises(TmuxError, match="tmux new-session failed: duplicate session"):
        tmux.new_session("web+Toast", str(tmp_path), ["sleep", "30"], {})


@pytest.fixture
def short_tmpdir() -> Iterator[str]:
    # A socket path must fit in ~108 bytes: pytest's tmp_path can be too long for one.
    folder = tempfile.mkdtemp(prefix="gt-tmux-", dir="/tmp")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("with_tmpdir", [True, False], ids=["TMUX_TMPDIR", "default"])
def test_kill_server_removes_the_socket_where_the_server_put_it(
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    short_tmpdir: str,
    tmp_path: Path,
    with_tmpdir: bool,
) -> None:
    if with_tmpdir:
        monkeypatch.setenv("TMUX_TMPDIR", short_tmpdir)
    else:
        monkeypatch.delenv("TMUX_TMPDIR", raising=False)
    folder = short_tmpdir if with_tmpdir else "/tmp"
    tmux = Tmux(str(server.socket_name))
    tmux.new_session("web+Toast", str(tmp_path), ["sleep", "30"], {})

    socket = Path(folder, f"tmux-{os.getuid()}", str(server.socket_name))
    assert socket.is_socket()  # the server listens where the person's own tmux looks
    assert tmux.socket_path() == str(socket)
    # a client with the person's whole environment (`gt attach`) finds the same server
    assert server.has_session("web+Toast")

    tmux.kill_server()
    assert not socket.exists()
    assert not server.is_alive()
    tmux.kill_server()  # no server any more: quietly nothing


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    # A fresh interpreter: this one has libtmux imported already.
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_libtmux_loads_only_once_a_tmux_server_is_wanted() -> None:
    # `gt runtime list` and the refinery's gates read the allowlist from this module
    code = (
        "import sys\n"
        "from engine.adapters.tmux import SERVER_ENV_ALLOW, socket_name\n"
        "print('libtmux' in sys.modules)\n"
        "from engine.adapters.tmux import Tmux\n"
        "Tmux('gt-never-started')\n"
        "print('libtmux' in sys.modules)\n"
    )
    proc = run_python(code)
    assert proc.stdout.split() == ["False", "True"], proc.stderr


def test_a_tmux_server_can_be_made_while_the_app_captures_stdout() -> None:
    # Textual's print capture has no `encoding`, which libtmux reads when imported
    code = (
        "import sys\n"
        "class Capture:\n"
        "    def write(self, text): return len(text)\n"
        "    def flush(self): pass\n"
        "capture = Capture()\n"
        "sys.stdout = capture\n"
        "from engine.adapters.tmux import Tmux\n"
        "tmux = Tmux('gt-never-started')\n"
        "assert sys.stdout is capture\n"
        "sys.__stdout__.write(repr(tmux.panes()))\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[]"
