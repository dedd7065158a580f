"""The demo convoy shows the system, not only the happy path (issue 11, section 5).

`gastown --demo PATH --engine-only --speed 10` runs the real demo town headless (the
`script` runtime in real tmux, real git, real gates) until its convoy lands; the ledger
must then show what the demo is there to show: a batch that failed its gates, bisected
(one request landed, the bad one sent back) and the sent-back bead fixed and landed; a
polecat's question in the mayor's mail; a stuck polecat nudged by the witness (in the
events and in its session log); and every bead of the convoy closed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from engine.demo_scripts import (
    DEFAULT_SPEED,
    MAX_SPEED,
    MIN_SPEED,
    STALL_SECONDS,
    STUCK_AT_MOST,
    Pace,
    check_speed,
    demo_plan,
)
from engine.ledger import Ledger
from engine.polecats.script_agent import parse_steps
from engine.records import EventRow
from engine.town import Town
from tests.cli_support import gastown_argv, gt_env

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def _titles(ledger: Ledger) -> dict[str, str]:
    return {b["id"]: b["title"] for b in ledger.beads.list()}


def _events(ledger: Ledger) -> list[EventRow]:
    return ledger.state.events_after(0, limit=100_000)


def run_demo_until_landed(demo: Path, env: dict[str, str], timeout: float = 240) -> str:
    """Run the headless demo at the fastest speed until its convoy lands; its stderr."""
    proc = subprocess.Popen(
        [*gastown_argv(), "--demo", str(demo), "--engine-only", "--speed", f"{MAX_SPEED:g}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(demo.parent),
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    landed = False
    try:
        while time.monotonic() < deadline and not landed:
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(1.0)
            if (demo / "ledger.db").exists():
                led = Ledger(Town(str(demo)).ledger_target)
                try:
                    landed = any(c["landed_at"] for c in led.convoys.list())
                finally:
                    led.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _out, err = proc.communicate()
    assert landed, f"the demo convoy did not land in {timeout:g}s\n{err[-3000:]}"
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    return err


@needs_tmux
@pytest.mark.slow
def test_the_demo_bisects_a_failure_mails_the_mayor_nudges_a_stuck_polecat_and_lands(
    tmp_path: Path,
) -> None:
    from engine.adapters.tmux import socket_name

    demo = tmp_path / "demo"
    env = gt_env({"HOME": str(tmp_path), "SHELL": "/bin/sh"})
    try:
        run_demo_until_landed(demo, env)
    finally:
        subprocess.run(
            ["tmux", "-L", socket_name(str(demo)), "kill-server"], capture_output=True, timeout=20
        )
    town = Town(str(demo))
    led = Ledger(town.ledger_target)
    try:
        titles = _titles(led)
        by_title = {t: i for i, t in titles.items()}
        events = _events(led)
        mrs = led.mq.list(rig="calc")
        convoy = led.convoys.list()[0]
        mayor = led.mail.inbox(["mayor"])
        work = [b for b in led.beads.list() if b["type"] == "task"]
        escalations = [b for b in led.beads.list() if b["type"] == "escalation"]
    finally:
        led.close()

    # 1. the gate failure, bisected out of its batch and sent back, then fixed and landed
    powers = by_title["Add powers"]
    failed = [m for m in mrs if m["state"] == "failed"]
    assert [m["source_bead"] for m in failed] == [powers], failed
    batch = failed[0]["batch"]
    partners = [m for m in mrs if m["batch"] == batch and m["id"] != failed[0]["id"]]
    assert [titles[m["source_bead"]] for m in partners] == ["Add subtraction"], partners
    assert partners[0]["state"] == "landed"  # the good half landed from the failed batch
    tested = [e for e in events if e["kind"] == "mq_testing" and e["bead_id"] == failed[0]["id"]]
    assert tested and tested[0]["data"]["size"] == 2, tested
    gate_log = (demo / "logs" / "refinery" / "calc" / f"{batch}.log").read_text()
    runs = [ln for ln in gate_log.splitlines() if ln.startswith("=== ")]
    assert len(runs) == 2 and " 2 on " in runs[0] and " 1 on " in runs[1], runs  # bisected
    assert "AssertionError" in gate_log
    sent_back = [e for e in events if e["kind"] == "requeued" and e["bead_id"] == powers]
    assert len(sent_back) == 1 and "gates failed" in sent_back[0]["data"]["reason"]
    retried = [m for m in mrs if m["source_bead"] == powers and m["state"] == "landed"]
    assert len(retried) == 1 and retried[0]["attempt"] == 2, retried

    # 2. a polecat's question in the mayor's mail
    questions = [m for m in mayor if (m["from"] or "").startswith("calc/polecats/")]
    assert [m["subject"] for m in questions] == ["Division by zero: raise, or return inf?"]

    # 3. the stuck polecat, nudged by the witness (events, and the nudge in its log), recovered
    styles = by_title["Page: styles"]
    nudged = [e for e in events if e["kind"] == "witness_nudged" and e["bead_id"] == styles]
    stalled = [e for e in events if e["kind"] == "agent_stalled" and e["bead_id"] == styles]
    assert len(nudged) == 1 and stalled, [e for e in events if e["bead_id"] == styles]
    assert not [e for e in events if e["kind"] in ("witness_restarted", "agent_stalled_out")]
    logs = list((demo / "logs").glob(f"*+{styles}+1.log"))
    assert logs and "Gas Town witness:" in logs[0].read_text(errors="replace")

    # 4. the convoy landed whole; nothing failed for good, nothing escalated
    assert convoy["landed_at"]
    assert convoy["progress"] == {"total": 9, "closed": 9, "by_status": {"closed": 9}}
    assert all(b["status"] == "closed" for b in work), [(b["title"], b["status"]) for b in work]
    assert not escalations, [e["title"] for e in escalations]


# --- the pace, without running anything ------------------------------------------------------


@pytest.mark.parametrize("speed", [MIN_SPEED, 0.5, DEFAULT_SPEED, 2.0, MAX_SPEED])
def test_at_every_speed_the_batch_partners_queue_behind_the_first_gate(speed: float) -> None:
    """Multiplication finishes first; subtraction and powers finish later by at least the
    fixed lead, and both before the gate that multiplication started is over (with as much
    again to spare for a late start): so the two share the next batch."""
    pace = Pace(speed)
    steps = {b["key"]: parse_steps(str(b["body"]), "x", "t") for b in demo_plan(1, speed)}

    def seconds(key: str) -> float:
        return sum(int(s[1]) * float(s[2]) for s in steps[key] if s[0] == "log")

    lead = seconds("sub") - seconds("mul")
    assert seconds("pow") == seconds("sub")
    assert lead >= 1.4, lead
    assert pace.gate_seconds - lead >= 1.4, (pace.gate_seconds, lead)


@pytest.mark.parametrize("speed", [MIN_SPEED, DEFAULT_SPEED, MAX_SPEED])
def test_only_the_stuck_polecat_pauses_past_the_stall_window_and_not_past_the_restart(
    speed: float,
) -> None:
    """Every other step keeps its log moving well within the witness's stall window; the
    stuck one waits on its terminal (the nudge ends the wait) at most STUCK_AT_MOST, which
    is after the stall window, a tick and a queued nudge's delivery, and before the
    ladder's next rung (demo.py: ladder_seconds = 60) would restart it."""
    waits = []
    for bead in demo_plan(1, speed):
        for step in parse_steps(str(bead["body"]), "x", "t"):
            assert step[0] != "sleep", bead["key"]
            if step[0] == "log":
                assert float(step[2]) < STALL_SECONDS / 2, (bead["key"], step)
            if step[0] == "run" and "select.select([sys.stdin]" in " ".join(step):
                waits.append((bead["key"], step[-1]))
    assert waits == [
        ("style", f"import select, sys; select.select([sys.stdin], [], [], {STUCK_AT_MOST:g})")
    ]
    assert STALL_SECONDS + 5 + 5 < STUCK_AT_MOST < 60


def test_the_demo_speed_is_refused_outside_its_range_in_one_line() -> None:
    for bad in (0.0, MIN_SPEED / 2, MAX_SPEED * 2, float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError) as caught:
            check_speed(bad)
        assert "\n" not in str(caught.value) and f"{MAX_SPEED:g}" in str(caught.value)
    assert check_speed(MIN_SPEED) == MIN_SPEED and check_speed(MAX_SPEED) == MAX_SPEED


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--demo", "/d", "--speed", "0"], "0 is not a demo speed"),
        (["--demo", "/d", "--speed", "fast"], "'fast' is not a number"),
        (["--demo", "/d", "--speed", "11"], "11 is not a demo speed"),
        (["--demo", "/d", "--speed"], "expected one argument"),
        (["/d", "--speed", "2"], "use it with --demo"),
    ],
)
def test_gastown_refuses_a_bad_speed_in_one_line(argv: list[str], says: str) -> None:
    proc = subprocess.run(
        [*gastown_argv(), *argv], capture_output=True, text=True, env=gt_env(), timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("gastown: usage error:"), proc.stderr
    assert says in lines[0], lines


def test_gastown_help_documents_the_speed_its_range_and_default() -> None:
    from gastown_tui.start import parse_args, resolve

    proc = subprocess.run(
        [*gastown_argv(), "--help"], capture_output=True, text=True, env=gt_env(), timeout=60
    )
    text = " ".join(proc.stdout.split())
    assert "--speed X" in text
    assert f"from {MIN_SPEED:g} (slowest) to {MAX_SPEED:g} (fastest" in text
    assert f"default {DEFAULT_SPEED:g}" in text
    assert resolve(parse_args(["--demo", "/d", "--speed", "2.5"])).speed == 2.5
    assert resolve(parse_args(["--demo", "/d"])).speed == DEFAULT_SPEED
