"""What Linux's /proc says about processes: the one reader for the engine.

Two parts of the engine look for processes no parent is waiting for: the fleet, for an
agent session's whole tree (proctree), and the refinery, for gates an earlier engine left
running (gates). Both read the same three things — the list of pids, a process's stat
line, its environment — so the parsing lives once, here. A process may vanish between any
two reads, and another user's processes cannot be read: both are "nothing", never an
error. Elsewhere than Linux nothing is found.
"""

from __future__ import annotations

import os
from typing import NamedTuple

PROC = "/proc"


class ProcStat(NamedTuple):
    state: str  # R, S, D, Z (zombie), X (dead), ...
    parent: int
    group: int
    start: int  # clock ticks after boot: with the pid, names one process for good

    @property
    def running(self) -> bool:
        """Not a zombie: a zombie holds nothing; its reaper may be slow or absent."""
        return self.state not in ("Z", "X")


def pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir(PROC) if name.isdigit()]
    except OSError:
        return []


def stat(pid: int) -> ProcStat | None:
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as fh:
            text = fh.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = text[text.rfind(b")") + 2 :].split()
    try:
        return ProcStat(
            fields[0].decode("ascii", "replace"), int(fields[1]), int(fields[2]), int(fields[19])
        )
    except (IndexError, ValueError):
        return None


def running(pid: int) -> bool:
    info = stat(pid)
    return info is not None and info.running


def environ(pid: int) -> set[bytes] | None:
    """The process's KEY=VALUE entries (None when gone or not ours to read)."""
    try:
        with open(f"{PROC}/{pid}/environ", "rb") as fh:
            return set(fh.read().split(b"\0"))
    except OSError:
        return None


def env_value(pid: int, name: str) -> str | None:
    entries = environ(pid)
    prefix = f"{name}=".encode()
    for item in entries or ():
        if item.startswith(prefix):
            return item[len(prefix) :].decode("utf-8", "replace")
    return None


def cmdline(pid: int) -> str | None:
    """The process's command line, its arguments joined by spaces (None when gone)."""
    try:
        with open(f"{PROC}/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None
