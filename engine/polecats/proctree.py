"""An agent session's processes, found and ended whole.

Killing a tmux session only hangs up its pane: a CLI's children may live on (Gemini CLI's
node processes keep running, using CPU, after `tmux kill-server`; Codex's app-server
detaches itself). A session's processes are the pane's process tree plus every process
carrying the session's identity in its environment (GT_TOWN and GT_SESSION, which the
launcher gives the agent and all it starts inherit) — the second finds those that left the
tree (a daemon re-parented to init). Read through engine/adapters/procfs (Linux /proc);
elsewhere nothing is found and the tmux kill is all there is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable

from engine.adapters import procfs


def descendants(root: int) -> set[int]:
    """root and every process below it."""
    children: dict[int, list[int]] = {}
    for pid in procfs.pids():
        info = procfs.stat(pid)
        if info is not None:
            children.setdefault(info.parent, []).append(pid)
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
    me = os.getpid()
    out = set()
    for pid in procfs.pids():
        if pid != me and wanted <= (procfs.environ(pid) or set()):
            out.add(pid)
    return out


def alive(pids: Iterable[int]) -> set[int]:
    return {pid for pid in pids if procfs.running(pid)}


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
