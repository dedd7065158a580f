"""An agent session's processes, found and ended whole.

Killing a tmux session only hangs up its pane: a CLI's children may live on (Gemini CLI's
node processes keep running, using CPU, after `tmux kill-server`; Codex's app-server
detaches itself). A session's processes are the pane's process tree plus every process
carrying the session's identity in its environment (GT_TOWN and GT_SESSION, which the
launcher gives the agent and all it starts inherit) — the second finds those that left the
tree (a daemon re-parented to init). Linux /proc only; elsewhere nothing is found and the
tmux kill is all there is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable

PROC = "/proc"


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir(PROC) if name.isdigit()]
    except OSError:
        return []


def _parent(pid: int) -> int | None:
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 else None


def descendants(root: int) -> set[int]:
    """root and every process below it."""
    children: dict[int, list[int]] = {}
    for pid in _pids():
        parent = _parent(pid)
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in out:
            continue
        out.add(pid)
        todo.extend(children.get(pid, ()))
    return out


def with_env(pairs: dict[str, str]) -> set[int]:
    """Processes of ours whose environment holds every KEY=VALUE given."""
    wanted = {f"{k}={v}".encode() for k, v in pairs.items()}
    out = set()
    me = os.getpid()
    for pid in _pids():
        if pid == me:
            continue
        try:
            with open(f"{PROC}/{pid}/environ", "rb") as fh:
                env = set(fh.read().split(b"\0"))
        except OSError:
            continue  # gone, or not ours (unreadable)
        if wanted <= env:
            out.add(pid)
    return out


def alive(pids: Iterable[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            with open(f"{PROC}/{pid}/stat", "rb") as fh:
                state = fh.read()
        except OSError:
            continue
        if state[state.rfind(b")") + 2 : state.rfind(b")") + 3] != b"Z":  # a zombie is dead
            out.add(pid)
    return out


def terminate(pids: Iterable[int], grace: float = 2.0) -> set[int]:
    """SIGTERM, then SIGKILL what is left after `grace` seconds. Returns what survived
    even that (nothing, unless it is not ours)."""
    pending = alive(pids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pending:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 1.0)
        while (pending := alive(pending)) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not pending:
            break
    return pending
