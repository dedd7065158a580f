"""`gastown --serve`: the same app in a browser.

The slow test is the real thing: `gastown --demo --serve` on a free loopback port, Debian's
headless Chromium (installed on first use by tests/install-chromium) loads the page, the
test reads the town off the browser's own terminal, presses keys in the page to sling a
bead through the app's sling dialog, and finds the bead in the ledger; a second tab
attaches to the same engine; Ctrl-C (SIGINT) stops the server with nothing left behind.
The quick tests pin the refusals: a bad host, a taken port, a non-loopback address's
warning, a websocket from another site's page or through a stranger's host name.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.adapters.tmux import socket_name
from engine.ledger import Ledger
from engine.polecats import proctree
from engine.town import Town
from gastown_tui import serve
from tests.browser_support import Browser, Page

REPO = Path(__file__).resolve().parent.parent
SERVER_MARKER = "GT_SERVE_TEST_RUN"
SCREENSHOT = REPO / "screenshots" / "browser.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gastown(*args: str) -> list[str]:
    return [sys.executable, "-m", "gastown_tui.start", *args]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    (home / ".local" / "share").mkdir(parents=True)
    out = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TMUX", "GT_", "GASTOWN_")) and k != "PYTHONPATH"
    }
    out.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        PYTHONPATH=str(REPO),
        LANG=os.environ.get("LANG", "C.UTF-8"),
    )
    return out


def one_line_error(proc: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert proc.returncode == code, proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gastown: "), proc.stderr
    assert needle in lines[0], lines[0]


# ---- refusals: one line, nothing started --------------------------------------------------


def test_a_bad_host_is_one_line_and_launches_no_demo(tmp_path: Path, env: dict[str, str]):
    demo = tmp_path / "demo"
    proc = subprocess.run(
        gastown("--demo", str(demo), "--serve", "--host", "no-such-host.invalid"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    one_line_error(proc, 2, "cannot serve on host 'no-such-host.invalid'")
    assert not demo.exists()  # refused before the demo town was made or its convoy launched


def test_a_taken_port_is_one_line(tmp_path: Path, env: dict[str, str]):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            gastown("--demo", str(tmp_path / "demo"), "--serve", "--port", str(port)),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    one_line_error(proc, 1, f"port {port} on 127.0.0.1 is in use; choose another with --port")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--serve", "--engine-only"], "--serve and --engine-only"),
        (["--port", "9000"], "--host and --port go with --serve"),
        (["--serve", "--port", "70000"], "port 70000 is not a TCP port"),
    ],
)
def test_contradictory_options_are_usage_errors(env: dict[str, str], args: list[str], needle: str):
    proc = subprocess.run(gastown(*args), env=env, capture_output=True, text=True, timeout=60)
    one_line_error(proc, 2, needle)


def test_binding_beyond_loopback_warns_first(capsys: pytest.CaptureFixture[str]):
    assert serve.check_args(None, free_port()).loopback  # the default: no warning
    assert capsys.readouterr().err == ""
    endpoint = serve.check_args("0.0.0.0", free_port())
    assert not endpoint.loopback
    err = capsys.readouterr().err
    assert err.startswith("gastown: warning: serving on 0.0.0.0:")
    assert "anyone who can reach this port drives the town" in err and "no login" in err


def test_websockets_only_from_our_own_page_and_names():
    allowed = serve._allowed_names("127.0.0.1")
    assert serve.host_allowed("127.0.0.1:8000", "http://127.0.0.1:8000", allowed)
    assert serve.host_allowed("localhost:8000", "http://localhost:8000", allowed)
    assert serve.host_allowed("127.0.0.1:8000", None, allowed)  # a script, not a page
    # a page on another site opening ws://127.0.0.1:8000/ws in the person's browser
    assert not serve.host_allowed("127.0.0.1:8000", "https://evil.example", allowed)
    assert not serve.host_allowed("127.0.0.1:8000", "http://127.0.0.1:9999", allowed)
    # DNS rebinding: a stranger's name pointed at our address
    assert not serve.host_allowed("evil.example:8000", "http://evil.example:8000", allowed)


# ---- the real browser ------------------------------------------------------------------


class Served:
    """`gastown --demo --serve` in its own process group, every process it starts marked."""

    def __init__(self, demo: Path, port: int, env: dict[str, str]) -> None:
        self.demo, self.port = demo, port
        self.marker = uuid.uuid4().hex
        self.log = demo.parent / "serve.log"
        self.proc = subprocess.Popen(
            gastown("--demo", str(demo), "--serve", "--port", str(port)),
            env={**env, SERVER_MARKER: self.marker},
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_serving(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while "gastown: serving" not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start:\n{self.output()}")
            time.sleep(0.1)

    def processes(self) -> set[int]:
        """The server and every process it started (the tabs' apps), even re-parented."""
        return proctree.with_env({SERVER_MARKER: self.marker})

    def stop(self) -> int:
        """Ctrl-C, as a person stops it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        proctree.terminate(self.processes())
        # polecats outlive the engine by design (the next one adopts them): end them here
        subprocess.run(
            ["tmux", "-L", socket_name(str(self.demo)), "kill-server"],
            capture_output=True,
            timeout=20,
        )


@pytest.fixture
def served(tmp_path: Path, env: dict[str, str]) -> Iterator[Served]:
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux (the demo's agents work in it)")
    server = Served(tmp_path / "demo", free_port(), env)
    try:
        yield server
    finally:
        server.kill()


def ledger_bead(demo: Path, title: str) -> dict[str, object] | None:
    ledger = Ledger(Town(str(demo)).ledger_target)
    try:
        found = [b for b in ledger.beads.list() if b["title"] == title]
    finally:
        ledger.close()
    return dict(found[0]) if found else None


async def drive(served: Served) -> None:
    browser = Browser()
    try:
        await browser.start()
        url = f"http://127.0.0.1:{served.port}/"
        page = await browser.new_page(url)
        # the town: its header, its rigs and the demo convoy's beads, in the browser
        screen = await page.wait_screen(
            "the town in the browser",
            lambda s: "Gas Town" in s and "calc" in s and "web" in s and " s Sling" in s,
        )
        pid = served.proc.pid
        # the tab's app is not a second engine: it attaches to the server's
        assert f"attached to the engine (pid {pid})" in screen, screen

        # sling a bead by keys typed into the page: s, a title, enter
        title = "Slung from the browser"
        await page.focus_terminal()
        await page.key("s")
        await page.wait_screen("the sling dialog", lambda s: "Sling work" in s)
        await page.type(title)
        await page.wait_screen("the typed title", lambda s: title in s)
        await page.key("Enter")
        await page.wait_screen(
            "the sling's answer", lambda s: "is on it!" in s or "is queued" in s, timeout=30
        )
        bead = ledger_bead(served.demo, title)
        assert bead is not None, "the bead slung in the browser is not in the ledger"
        assert bead["slung"], bead  # put in motion, not only filed

        # its row, by id (the title column may be narrower than the title at this width)
        bead_id = str(bead["id"])

        def has_row(screen: str) -> bool:
            return any(ln.lstrip("│┃ ").startswith(bead_id) for ln in screen.splitlines())

        await page.wait_screen("the new bead's row", lambda s: has_row(s) and "Sling work" not in s)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await page.screenshot(SCREENSHOT)

        # a second tab: the same town, attached to the same engine, the bead in its table
        second: Page = await browser.new_page(url)
        await second.wait_screen(
            "the second tab",
            lambda s: f"attached to the engine (pid {pid})" in s and has_row(s),
        )
        assert len(served.processes()) >= 3  # the server and one app per tab
        # Ctrl-C with both tabs still open: their apps are told to quit, the engine stops
        assert await asyncio.to_thread(served.stop) == 0, served.output()
    finally:
        await browser.close()
        assert not browser.survivors(), "chromium left processes behind"


@pytest.mark.slow
def test_the_app_in_a_real_browser_slings_into_the_ledger(served: Served) -> None:
    served.wait_serving()
    assert "engine started" in served.output()  # the server runs the town's one engine
    asyncio.run(drive(served))
    out = served.output()
    assert "engine stopped" in out, out
    assert "did not quit" not in out, out  # every tab's app quit when told, none was killed
    assert "Traceback" not in out, out
    deadline = time.monotonic() + 10
    while served.processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not served.processes(), f"left behind: {served.processes()}\n{out}"


async def refused_cross_site(port: int) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(
                f"http://127.0.0.1:{port}/ws", headers={"Origin": "https://evil.example"}
            ):
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


def test_serving_a_town_whose_engine_runs_already_attaches(tmp_path: Path, env: dict[str, str]):
    town = tmp_path / "town"
    subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "init", str(town)],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    marker = uuid.uuid4().hex
    marked = {**env, SERVER_MARKER: marker}
    headless = subprocess.Popen(
        gastown("--engine-only", str(town)),
        env=marked, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    lock = Town(str(town)).lock_path
    port = free_port()
    log = tmp_path / "serve.log"
    server = None
    try:
        from engine.lock import holder_pid

        deadline = time.monotonic() + 30
        while holder_pid(lock) != headless.pid:
            assert time.monotonic() < deadline and headless.poll() is None, "no headless engine"
            time.sleep(0.1)
        server = subprocess.Popen(
            gastown("--town", str(town), "--serve", "--port", str(port)),
            env=marked, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        while "gastown: serving" not in log.read_text():
            assert time.monotonic() < deadline + 30 and server.poll() is None, log.read_text()
            time.sleep(0.1)
        out = log.read_text()
        assert f"the town's engine runs already (pid {headless.pid})" in out, out
        assert "engine started" not in out  # no second engine
        assert holder_pid(lock) == headless.pid
        # a page of another site may not open the town's websocket in the person's browser
        assert asyncio.run(refused_cross_site(port)) == 403
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0, log.read_text()
        assert "Traceback" not in log.read_text()
        assert headless.poll() is None and holder_pid(lock) == headless.pid  # left running
    finally:
        for proc in (server, headless):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                proc.wait(timeout=30)
        proctree.terminate(proctree.with_env({SERVER_MARKER: marker}))
