"""browser.png: the demo town of make_screenshots.py served to Debian's headless Chromium.

`gastown TOWN --serve` on a free loopback port (its own process group, stopped by Ctrl-C as
a person stops it), the page loaded and its screen read through tests/browser_support.py
(which starts Chromium with a fresh profile and ends every process it started).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def browser_shot(out: Path, town_dir: str, root: str) -> Path | None:
    """The same town in a browser: `gastown TOWN --serve` on a free loopback port, Debian's
    headless Chromium driven by tests/browser_support.py. Without Chromium, browser.png is
    left as tests/test_app_serve.py last made it."""
    from tests.browser_support import CHROMIUM, Browser

    if not CHROMIUM.exists():
        print(f"  browser.png kept: no Chromium at {CHROMIUM} (tests/install-chromium)")
        return None
    port = free_port()
    home = Path(root) / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "GT_", "GASTOWN_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), PYTHONPATH=str(REPO))
    log = Path(root) / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "gastown_tui.start", town_dir, "--serve", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    browser = Browser()
    try:
        deadline = time.monotonic() + 60
        while "gastown: serving" not in log.read_text(errors="replace"):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"make_screenshots: the server did not start:\n{log.read_text()}")
            await asyncio.sleep(0.1)
        await browser.start()
        page = await browser.new_page(f"http://127.0.0.1:{port}/")
        await page.wait_screen("the town in the browser", lambda s: "Gas Town" in s and "calc" in s)
        await asyncio.sleep(2.0)  # the tables and the log fill in
        path = out / "browser.png"
        await page.screenshot(path)
        print("  browser.png", flush=True)
        return path
    finally:
        await browser.close()
        if server.poll() is None:
            server.send_signal(signal.SIGINT)  # as a person stops it: the engine stops cleanly
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
