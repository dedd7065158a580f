"""Hosts for real, for the tests: town directories sharing one PostgreSQL ledger, each
with its own `gastown --engine-only --host NAME` process and tmux server."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import TypeVar

from engine.town import Town, init_town
from tests.cli_support import gastown_argv

LEASE = 3


def host_town(root: Path, url: str, capacity: int = 2, extra: str = "") -> Town:
    """A host's town directory on the shared ledger: `capacity` polecats, quick ticks."""
    town = init_town(str(root), ledger_url=url)
    text = Path(town.config_path).read_text()
    text = re.sub(r"(?m)^max_polecats = 10\b", f"max_polecats = {capacity}", text)
    text = re.sub(r"(?m)^tick_seconds = 5\b", "tick_seconds = 0.5", text)
    text = re.sub(r"(?m)^backoff_base_seconds = 5\b", "backoff_base_seconds = 0.2", text)
    Path(town.config_path).write_text(text + f"\n[host]\nlease_seconds = {LEASE}\n" + extra)
    return town


def start_host(town: Town, name: str, log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [*gastown_argv(), "--engine-only", "--host", name, "--town", town.root],
        stdout=out,
        stderr=out,
        env={**os.environ, "SHELL": "/bin/sh"},
    )


def wait_for(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def sessions(town: Town) -> set[str]:
    from engine.adapters.tmux import Tmux, socket_name

    return {p.session for p in Tmux(socket_name(town.root)).panes() if not p.dead}


def cleanup(procs: list[subprocess.Popen[bytes]], towns: list[Town]) -> None:
    from engine.adapters.tmux import Tmux, socket_name
    from engine.polecats import proctree

    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    for town in towns:
        Tmux(socket_name(town.root)).kill_server()
        proctree.terminate(proctree.with_env({"GT_TOWN": town.root}), grace=1.0)


T = TypeVar("T")


def must(record: T | None) -> T:
    """A record the test knows is there (None would be the failure, said here)."""
    assert record is not None, "no such record"
    return record
