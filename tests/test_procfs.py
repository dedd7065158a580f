"""The one /proc reader (engine/adapters/procfs.py) that the fleet and the refinery share."""

from __future__ import annotations

import os
import subprocess
import time

from engine.adapters import procfs


def test_a_process_named_with_parentheses_and_spaces_is_read_right() -> None:
    # The stat line's command field is "(<name>)": a name holding ") " must not shift fields.
    proc = subprocess.Popen(
        ["bash", "-c", "exec -a 'evil) R 1 2 (name' sleep 30"],
        env={"PATH": os.environ["PATH"], "GT_PROCFS_TEST": "yes"},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            info = procfs.stat(proc.pid)
            # asleep in `sleep` itself: bash's exec is done (mid-exec, environ reads empty)
            named = (procfs.cmdline(proc.pid) or "").startswith("evil) R 1 2 (name")
            if info and info.state in ("S", "R") and named:
                break
            time.sleep(0.02)
        info = procfs.stat(proc.pid)
        assert info is not None
        assert (info.parent, info.group) == (os.getpid(), proc.pid)
        assert info.running and info.start > 0
        assert procfs.env_value(proc.pid, "GT_PROCFS_TEST") == "yes"
        assert procfs.env_value(proc.pid, "HOME") is None
        assert proc.pid in procfs.pids()
    finally:
        proc.kill()
        proc.wait()
    assert procfs.stat(proc.pid) is None and not procfs.running(proc.pid)


def test_a_zombie_is_not_running() -> None:
    proc = subprocess.Popen(["true"])
    deadline = time.monotonic() + 5
    while (info := procfs.stat(proc.pid)) and info.state != "Z" and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert info is not None and info.state == "Z"  # exited, not yet reaped
        assert not procfs.running(proc.pid)
    finally:
        proc.wait()


def test_a_gone_process_is_nothing() -> None:
    assert procfs.stat(2**22 + 7) is None
    assert procfs.environ(2**22 + 7) is None
