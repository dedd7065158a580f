"""Gates: the rig's check commands, run on a candidate tree with a time limit.

Gate commands come from the town's own configuration (trusted), never from bead text —
but they run code from an agent's branch, so they get the agents' environment allowlist
plus the rig's explicit `gate_env` names, never the engine's whole environment (API keys,
cloud credentials). Each runs with `sh -c` in the refinery's worktree, with git hooks
disabled for any git command it runs, in its own process group so a time-out kills
everything it started. Output goes to a log a person can read.

A gate is the engine's only long-lived child (git calls are short and waited for; agent
sessions live in the town's tmux server and are re-adopted on purpose), and it must die
with the engine: a stop kills every running gate's process group and waits for it; and
because kill -9 runs no clean-up, every gate is recorded in the town's state directory
(pid, process group, start time, and a random token placed in its environment) before it
starts, so the next engine finds what an earlier one left behind and kills it — after
checking it is ours — before its refinery touches the worktree.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from engine.adapters import procfs

if TYPE_CHECKING:
    from collections.abc import Sequence

GATE_ORDER = ("setup", "lint", "test", "build")
TOKEN_VAR = "GT_GATE_TOKEN"
log = logging.getLogger("gastown.refinery")


class GateResult(NamedTuple):
    ok: bool
    failed_gate: str | None
    summary: str
    log: str


class GatesStopped(Exception):
    """The engine is stopping: the gate was killed, its result means nothing."""


def gate_list(rig_gates: list[str], configured: dict[str, str] | None) -> list[tuple[str, str]]:
    """(name, command) pairs: town.toml's named gates in order, then `--gate` commands."""
    out = [(name, configured[name]) for name in GATE_ORDER if configured and configured.get(name)]
    out += [(f"gate{i + 1}", cmd) for i, cmd in enumerate(rig_gates)]
    return out


def gate_env(names: Sequence[str], hooks_dir: str, token: str) -> dict[str, str]:
    """The agents' allowlist (one list for both: see runtimes.BASE_ENV_ALLOW), the rig's
    `gate_env` names, then ours — which the gate cannot be configured to override."""
    from engine.polecats.runtimes import BASE_ENV_ALLOW

    env = {k: os.environ[k] for k in (*BASE_ENV_ALLOW, *names) if k in os.environ}
    env.update(
        {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "core.hooksPath",
            "GIT_CONFIG_VALUE_0": hooks_dir,
            "GT_REFINERY": "1",
            TOKEN_VAR: token,
        }
    )
    return env


# ---- the records ---------------------------------------------------------------------------


class GateRecords:
    """One small JSON file per running gate, named by its token; removed when it ends."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def _path(self, token: str) -> str:
        return os.path.join(self.folder, f"{token}.json")

    def write(self, record: dict[str, Any]) -> None:
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        path = self._path(record["token"])
        tmp = f"{path}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        # No fsync: the record must outlive the engine's process (page cache does), not the
        # machine — a reboot takes the gates with it.
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
        os.replace(tmp, path)

    def remove(self, token: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(token))

    def all(self) -> list[dict[str, Any]]:
        out = []
        try:
            names = sorted(os.listdir(self.folder))
        except FileNotFoundError:
            return []
        for name in names:
            path = os.path.join(self.folder, name)
            if not name.endswith(".json"):
                with contextlib.suppress(OSError):
                    os.unlink(path)  # a temporary file a crash left half-written
                continue
            try:
                with open(path, encoding="utf-8") as fh:
                    record = json.load(fh)
                if not isinstance(record, dict) or not isinstance(record.get("token"), str):
                    raise ValueError("not a gate record")
            except (OSError, ValueError):
                with contextlib.suppress(OSError):
                    os.unlink(path)
                continue
            out.append(record)
        return out


# ---- running gates and killing them ---------------------------------------------------------


class GateRunner:
    """Runs gates and owns them: one per engine, shared by its rigs' refineries."""

    def __init__(self, state_dir: str) -> None:
        self.records = GateRecords(os.path.join(state_dir, "gates"))
        self._lock = threading.Lock()
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping = False

    def run(
        self,
        gates: list[tuple[str, str]],
        cwd: str,
        log_path: str,
        *,
        hooks_dir: str,
        timeout: float,
        label: str,
        env_names: Sequence[str] = (),
    ) -> GateResult:
        """Run the gates in order until one fails; GatesStopped when the engine stops."""
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        with open(log_path, "a", encoding="utf-8") as log_fh:
            log_fh.write(f"=== {time.strftime('%H:%M:%S')} {label}\n")
            for name, cmd in gates:
                log_fh.write(f"--- gate {name}: {cmd}\n")
                log_fh.flush()
                started = time.monotonic()
                code = self._run_one(cmd, cwd, log_fh, hooks_dir, timeout, env_names)
                if code is None:
                    log_fh.write(f"--- gate {name} timed out after {int(timeout)}s\n")
                    return GateResult(
                        False, name, f"gate {name} timed out after {int(timeout)}s", log_path
                    )
                log_fh.write(
                    f"--- gate {name} exited {code} in {time.monotonic() - started:.1f}s\n"
                )
                if code != 0:
                    log_fh.flush()
                    return GateResult(
                        False,
                        name,
                        f"gate {name} ({cmd}) exited {code}: " + tail(log_path, 12),
                        log_path,
                    )
        return GateResult(True, None, "all gates passed", log_path)

    def _run_one(
        self,
        cmd: str,
        cwd: str,
        log_fh: Any,
        hooks_dir: str,
        timeout: float,
        env_names: Sequence[str],
    ) -> int | None:
        """The exit code, or None on a time-out."""
        token = secrets.token_hex(16)
        record: dict[str, Any] = {"token": token, "cwd": cwd, "engine_pid": os.getpid()}
        with self._lock:
            if self._stopping:
                raise GatesStopped()
            # Recorded before it starts: a kill -9 between the start and the record would
            # otherwise leave a gate no one knows about (the token finds it in /proc).
            self.records.write(record)
            try:
                proc = subprocess.Popen(
                    ["sh", "-c", cmd],
                    cwd=cwd,
                    env=gate_env(env_names, hooks_dir, token),
                    stdout=log_fh,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except BaseException:
                self.records.remove(token)
                raise
            self._running[token] = proc
        info = procfs.stat(proc.pid)
        self.records.write(
            {**record, "pid": proc.pid, "pgid": proc.pid, "start": info.start if info else None}
        )
        try:
            try:
                code: int | None = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(proc.pid)
                proc.wait()
                code = None
            with self._lock:
                if self._stopping:
                    raise GatesStopped()
            return code
        finally:
            # even when the gate itself exited, what it left behind goes with it
            kill_gate(proc.pid, {token}, time.monotonic() + 10)
            with self._lock:
                self._running.pop(token, None)
            self.records.remove(token)

    def stop(self, timeout: float = 10.0) -> None:
        """Kill every running gate's process group and wait until each is gone."""
        with self._lock:
            self._stopping = True
            running = dict(self._running)
        deadline = time.monotonic() + timeout
        for token, proc in running.items():
            kill_gate(proc.pid, {token}, deadline)
        for proc in running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))

    def sweep(self, timeout: float = 10.0) -> list[int]:
        """Kill the gates an earlier engine left running (it was killed or crashed).

        Called at engine start, before any refinery touches its worktree. Only processes
        proven ours are touched: they carry a recorded token in their environment, and a
        recorded leader must also have its recorded start time (pids are reused).
        """
        records = self.records.all()
        if not records:
            return []
        tokens = {r["token"] for r in records}
        deadline = time.monotonic() + timeout
        killed: list[int] = []
        for r in records:
            pid, pgid = r.get("pid"), r.get("pgid")
            if not isinstance(pid, int) or not isinstance(pgid, int):
                continue  # recorded before it had a pid: the token scan below finds it
            info = procfs.stat(pid)
            if info is not None and info.start != r.get("start"):
                # the pid is another process's now (so its old group is empty)
                continue
            killed += kill_gate(pgid, {r["token"]}, deadline)
        killed += kill_marked(tokens, deadline)  # also gates recorded before they had a pid
        for r in records:
            self.records.remove(r["token"])
        return sorted(set(killed))


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def running_in_group(pgid: int) -> list[int]:
    out = []
    for pid in procfs.pids():
        info = procfs.stat(pid)
        if info and info.group == pgid and info.running:
            out.append(pid)
    return out


def kill_gate(pgid: int | None, tokens: set[str], deadline: float) -> list[int]:
    """Kill a gate: its whole process group when a member proves the group is ours (it
    carries the token; that also takes along members that cleared their environment),
    then everything carrying the token (children that left the group keep it). Waits
    until they are gone; returns the pids killed."""
    members = running_in_group(pgid) if pgid and pgid > 1 else []
    ours = [p for p in members if procfs.env_value(p, TOKEN_VAR) in tokens]
    if ours and pgid:
        kill_group(pgid)
    killed = kill_marked(tokens, deadline)
    while any(procfs.running(p) for p in members) and time.monotonic() < deadline:
        time.sleep(0.02)
    return sorted(set(killed) | (set(members) if ours else set()))


def kill_marked(tokens: set[str], deadline: float) -> list[int]:
    """SIGKILL every process carrying one of the tokens (a gate's children that left its
    group keep its environment), and wait until they are gone."""
    me = os.getpid()
    marked = [p for p in procfs.pids() if p != me and procfs.env_value(p, TOKEN_VAR) in tokens]
    for pid in marked:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    while any(procfs.running(p) for p in marked) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = [p for p in marked if procfs.running(p)]
    if left:
        log.warning("gate processes %s survived SIGKILL", ", ".join(map(str, left)))
    return marked


def tail(path: str, lines: int) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read().splitlines()
    body = [ln for ln in text if not ln.startswith(("---", "==="))]
    return " | ".join(body[-lines:])[-1500:]
