"""A real browser for tests: Debian's headless Chromium, driven over the DevTools protocol.

``chromium()`` installs the package on first use (tests/install-chromium: apt-get, as root,
which CI is) and skips, saying why, only where that cannot be done. ``Browser`` starts it
with a fresh profile on a private debugging port, opens pages, presses real keys in them
(Input.dispatchKeyEvent: the page sees keydown/keypress/keyup as from a keyboard), reads
the text of a textual-serve terminal from xterm.js's own buffer, and takes screenshots.
Every process it starts carries a marker in its environment, so none outlives the test
even if it left the process group.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import itertools
import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.polecats import proctree

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
MARKER = "GT_BROWSER_TEST_RUN"
FLAGS = (
    "--headless",
    "--no-sandbox",  # root in CI: Chromium refuses its sandbox there
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",  # Chromium picks a free port and writes it to the profile
)

# textual-serve's client keeps its xterm.js Terminal as `this.terminal` on an object that
# is not reachable from the page. Its constructor assigns `this.fitAddon` right after the
# terminal; a setter on Object.prototype for that name, installed before the page's
# scripts run, sees that object once and keeps it, so the test reads what the browser's
# terminal holds (not what the server sent).
CAPTURE = """
Object.defineProperty(Object.prototype, "fitAddon", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "fitAddon", {value, writable: true, configurable: true});
    if (this.terminal) { window.__gtClient = this; }
  },
});
"""
SCREEN_JS = """
(() => {
  const c = window.__gtClient;
  if (!c) return null;
  const b = c.terminal.buffer.active, out = [];
  for (let y = 0; y < c.terminal.rows; y++) {
    const line = b.getLine(b.viewportY + y);
    out.push(line ? line.translateToString(true) : "");
  }
  return out.join("\\n");
})()
"""
# key name → (code, windowsVirtualKeyCode, text)
SPECIAL = {
    "Enter": ("Enter", 13, "\r"),
    "Tab": ("Tab", 9, "\t"),
    "Escape": ("Escape", 27, ""),
    "ArrowDown": ("ArrowDown", 40, ""),
    "ArrowUp": ("ArrowUp", 38, ""),
}


@functools.cache
def _install() -> str | None:
    """None when Chromium is there, else why it could not be installed."""
    done = subprocess.run(
        [str(REPO / "tests" / "install-chromium")], capture_output=True, text=True, timeout=900
    )
    if done.returncode == 3:
        return done.stderr.strip()
    if done.returncode != 0:
        pytest.fail(f"tests/install-chromium failed:\n{done.stdout}{done.stderr}")
    return None


def chromium() -> Path:
    """Debian's Chromium, installed on first use; a skip only where it cannot be."""
    if not CHROMIUM.exists():
        reason = _install()
        if reason:
            pytest.skip(f"headless Chromium cannot be installed here: {reason}")
    return CHROMIUM


class Page:
    """One tab, over its own DevTools websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self.ws.send_json({"id": call_id, "method": method, "params": params})
        while True:
            msg = await asyncio.wait_for(self.ws.receive_json(), timeout=30)
            if msg.get("id") == call_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        out = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return out.get("result", {}).get("value")

    async def screen(self) -> str:
        return str(await self.evaluate(SCREEN_JS) or "")

    async def wait_screen(self, what: str, predicate: Any, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = await self.screen()
            if predicate(screen):
                return screen
            await asyncio.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}; the browser shows:\n{screen}")

    async def focus_terminal(self) -> None:
        await self.evaluate("window.__gtClient.terminal.focus()")

    async def key(self, name: str) -> None:
        """Press and release one key: a name of SPECIAL or one character."""
        if name in SPECIAL:
            code, vk, text = SPECIAL[name]
            key = name
        else:
            key, text = name, name
            code = f"Key{name.upper()}" if name.isalpha() else ""
            vk = ord(name.upper()) if name.isalnum() else ord(name)
        down: dict[str, Any] = {"key": key, "code": code, "windowsVirtualKeyCode": vk}
        if text:
            down["text"] = text
        await self.send("Input.dispatchKeyEvent", type="keyDown" if text else "rawKeyDown", **down)
        await self.send(
            "Input.dispatchKeyEvent", type="keyUp", key=key, code=code, windowsVirtualKeyCode=vk
        )

    async def type(self, text: str) -> None:
        for ch in text:
            await self.key(ch)

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))


class Browser:
    """Headless Chromium with a fresh profile; `close` ends it and all it started."""

    def __init__(self, width: int = 1600, height: int = 1000) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="gt-chromium-"))
        self.marker = uuid.uuid4().hex
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GT_", "GASTOWN_"))}
        env.update(HOME=str(self.profile), XDG_CONFIG_HOME=str(self.profile / ".config"))
        env[MARKER] = self.marker
        self.proc = subprocess.Popen(
            [
                str(chromium()),
                *FLAGS,
                f"--user-data-dir={self.profile / 'profile'}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.session: aiohttp.ClientSession | None = None
        self.port = 0

    async def start(self, timeout: float = 30.0) -> None:
        active = self.profile / "profile" / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not active.exists() or not active.read_text().strip():
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its debugging port")
            await asyncio.sleep(0.1)
        self.port = int(active.read_text().split()[0])
        self.session = aiohttp.ClientSession()

    async def new_page(self, url: str) -> Page:
        """A new tab: the terminal capture installed, then `url` loaded."""
        assert self.session is not None
        put = f"http://127.0.0.1:{self.port}/json/new?about:blank"
        async with self.session.put(put) as response:
            target = json.loads(await response.text())
        ws = await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws)
        await page.send("Page.enable")
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=CAPTURE)
        await page.send("Page.navigate", url=url)
        return page

    def survivors(self) -> set[int]:
        return proctree.with_env({MARKER: self.marker})

    async def close(self) -> None:
        if self.session is not None:
            with contextlib.suppress(Exception):
                await self.session.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        proctree.terminate(self.survivors())
        subprocess.run(["rm", "-rf", str(self.profile)], check=False)
