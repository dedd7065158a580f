"""Gates: the rig's check commands, run on a candidate tree with a time limit.

Gate commands come from the town's own configuration (trusted), never from bead text;
each runs with `sh -c` in the refinery's worktree, with git hooks disabled for any git
command it runs, in its own process group so a time-out kills everything it started.
Output goes to a log a person can read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import NamedTuple

GATE_ORDER = ("setup", "lint", "test", "build")


class GateResult(NamedTuple):
    ok: bool
    failed_gate: str | None
    summary: str
    log: str


def gate_list(rig_gates: list[str], configured: dict[str, str] | None) -> list[tuple[str, str]]:
    """(name, command) pairs: town.toml's named gates in order, then `--gate` commands."""
    out = [(name, configured[name]) for name in GATE_ORDER if configured and configured.get(name)]
    out += [(f"gate{i + 1}", cmd) for i, cmd in enumerate(rig_gates)]
    return out


def run_gates(
    gates: list[tuple[str, str]],
    cwd: str,
    log_path: str,
    *,
    hooks_dir: str,
    timeout: float,
    label: str,
) -> GateResult:
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    env = {
        **os.environ,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.hooksPath",
        "GIT_CONFIG_VALUE_0": hooks_dir,
        "GT_REFINERY": "1",
    }
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"=== {time.strftime('%H:%M:%S')} {label}\n")
        for name, cmd in gates:
            log.write(f"--- gate {name}: {cmd}\n")
            log.flush()
            started = time.monotonic()
            proc = subprocess.Popen(
                ["sh", "-c", cmd],
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                log.write(f"--- gate {name} timed out after {int(timeout)}s\n")
                return GateResult(
                    False, name, f"gate {name} timed out after {int(timeout)}s", log_path
                )
            log.write(f"--- gate {name} exited {code} in {time.monotonic() - started:.1f}s\n")
            if code != 0:
                log.flush()
                return GateResult(
                    False,
                    name,
                    f"gate {name} ({cmd}) exited {code}: " + tail(log_path, 12),
                    log_path,
                )
    return GateResult(True, None, "all gates passed", log_path)


def tail(path: str, lines: int) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read().splitlines()
    body = [ln for ln in text if not ln.startswith(("---", "==="))]
    return " | ".join(body[-lines:])[-1500:]
