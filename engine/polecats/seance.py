"""Seance: every session's log is kept when it ends, so later sessions can read it.

Logs are named `<rig>+<agent>+<bead>+<attempt>.log` under the town's logs/.
"""

from __future__ import annotations

import os
from collections import deque
from typing import NamedTuple


class SessionLog(NamedTuple):
    path: str
    rig: str
    agent: str
    bead: str
    attempt: int
    mtime: float


def log_path(logs_dir: str, rig: str, agent: str, bead: str, attempt: int) -> str:
    """Where a session's log is written: the one place its name is made (find_logs reads it)."""
    # '+' cannot appear in rig, polecat or bead names, so the four parts split back apart.
    return os.path.join(logs_dir, f"{rig}+{agent}+{bead}+{attempt}.log")


def find_logs(
    logs_dir: str, *, bead: str | None = None, agent: str | None = None, rig: str | None = None
) -> list[SessionLog]:
    """Matching session logs, oldest first."""
    out = []
    try:
        names = os.listdir(logs_dir)
    except FileNotFoundError:
        return []
    for name in names:
        if not name.endswith(".log"):
            continue
        parts = name[:-4].split("+")
        if len(parts) != 4 or not parts[3].isdigit():
            continue
        lg_rig, lg_agent, lg_bead, lg_attempt = parts
        if bead and lg_bead != bead:
            continue
        if agent and lg_agent.lower() != agent.lower():
            continue
        if rig and lg_rig != rig:
            continue
        path = os.path.join(logs_dir, name)
        out.append(
            SessionLog(path, lg_rig, lg_agent, lg_bead, int(lg_attempt), os.path.getmtime(path))
        )
    return sorted(out, key=lambda s: (s.mtime, s.attempt))


def _lines(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return [ln.rstrip("\n") for ln in fh]


def tail(path: str, n: int) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return [ln.rstrip("\n") for ln in deque(fh, maxlen=n)]


def grep(path: str, text: str) -> list[str]:
    needle = text.lower()
    return [ln for ln in _lines(path) if needle in ln.lower()]
