"""Issue 11 §3 on the command line: times for people, short batch ids, the merge queue's
useful order and lines, `gt convoy status` with no id, `gt seance` on a name that is not
there. Each test failed before its fix (the docstrings say how)."""

from __future__ import annotations

import time

from engine.ledger import Ledger
from engine.refinery.refinery import Refinery
from engine.timeutil import relative
from engine.town import Town
from engine.views.mq_order import failure_gist, needs_person_first
from tests.app_support import build_town
from tests.cli_support import assert_one_line_error, run_gt, run_json
from tests.conftest import add_rig

PYTEST_FAILURE = (
    "gate test (python -m pytest -q) exited 1: F [100%] | ____ test_sub ____ | "
    'Traceback (most recent call last): | File "/w/test_calc.py", line 3, in test_sub | '
    "assert sub(3, 2) == 1 | E       assert 5 == 1 | "
    "FAILED test_calc.py::test_sub - assert 5 == 1 | 1 failed in 0.02s"
)


def test_relative_times_read_as_a_person_says_them() -> None:
    now = 1_800_000_000.0
    assert relative(now + 240, now) == "in 4 min"
    assert relative(now - 180, now) == "3 min ago"
    assert relative(now - 2, now) == "just now"
    assert relative(now - 2 * 86400, now) == "2 days ago"
    assert relative("2027-01-15T08:04:00.000000Z", now) == "in 4 min"  # ISO, as events hold
    assert relative(None) == "-"


def test_a_gate_failure_keeps_its_useful_lines() -> None:
    """Before: the note was cut to its first characters, `exited 1: F [100%] | ____`."""
    gist = failure_gist(PYTEST_FAILURE, 90)
    assert (
        gist == "test exited 1: FAILED test_calc.py::test_sub - assert 5 == 1 | 1 failed in 0.02s"
    )
    assert len(failure_gist(PYTEST_FAILURE, 40)) <= 40
    assert failure_gist("conflict in calc.py", 90) == "conflict in calc.py"


def test_failures_come_first_then_newest() -> None:
    mrs = [
        {"id": "a", "state": "landed", "updated_at": "3"},
        {"id": "b", "state": "queued", "updated_at": "1"},
        {"id": "c", "state": "failed", "updated_at": "1"},
        {"id": "d", "state": "failed", "updated_at": "2"},
    ]
    assert [m["id"] for m in needs_person_first(mrs)] == ["d", "c", "b", "a"]


def bare_refinery(ledger: Ledger, rig: str) -> Refinery:
    """A Refinery without its workspace (whose construction runs git in the rig's clone):
    naming a batch reads and writes only the rig's statistics in the ledger."""
    refinery = object.__new__(Refinery)
    refinery.ledger, refinery.rig = ledger, rig
    return refinery


def test_batch_ids_are_short_and_counted_per_rig(town: Town) -> None:
    """Before: `calc-1795987986965` (epoch milliseconds)."""
    ledger = Ledger(town.ledger_target)
    try:
        add_rig(ledger, "calc", "calc")
        refinery = bare_refinery(ledger, "calc")
        assert [refinery.next_batch_id() for _ in range(3)] == ["calc-b1", "calc-b2", "calc-b3"]
        # counted in the ledger: a restarted refinery goes on from there
        assert bare_refinery(ledger, "calc").next_batch_id() == "calc-b4"
    finally:
        ledger.close()


def test_gt_breaker_says_when_in_words(town: Town) -> None:
    """Before: `Breaker: open (until 1795987913.981396)`."""
    ledger = Ledger(town.ledger_target)
    try:
        now = time.time()
        with ledger.transaction():
            ledger.state.put(
                "breaker",
                {
                    "state": "open",
                    "until": now + 260,
                    "tripped_at": now - 180,
                    "failures": 3,
                    "reasons": [{"bead": "calc-1", "reason": "runtime missing", "at": now}],
                },
            )
    finally:
        ledger.close()
    proc = run_gt("breaker", town=town)
    assert proc.returncode == 0, proc.stderr
    assert "Breaker: open (dispatch retries in 4 min)" in proc.stdout
    assert "tripped 3 min ago after 3 failures" in proc.stdout
    assert "until 1" not in proc.stdout


def test_gt_mq_list_puts_failures_first_and_claims_no_rate_before_any_batch(
    tmp_path, monkeypatch
) -> None:
    """Before: "observed failure rate 5%" with nothing observed; the landed request first."""
    gtown = build_town(tmp_path, monkeypatch)
    proc = run_gt("mq", "list", town=gtown.town)
    assert proc.returncode == 0, proc.stderr
    assert "calc: batch size" in proc.stdout and "no batch decided yet" in proc.stdout
    assert "observed" not in proc.stdout
    rows = [ln for ln in proc.stdout.splitlines() if ln.startswith(("calc-", "web-", "hq-"))]
    first = rows[0] if rows else ""
    assert gtown.ids["style"] in first and "failed" in first, proc.stdout


def test_gt_convoy_status_without_an_id_lists_the_open_convoys(tmp_path, monkeypatch) -> None:
    """Before: a usage error (exit 2: the id is required)."""
    gtown = build_town(tmp_path, monkeypatch)
    proc = run_gt("convoy", "status", town=gtown.town)
    assert proc.returncode == 0, proc.stderr
    assert gtown.ids["convoy"] in proc.stdout and "Calculator 1.0" in proc.stdout
    listed = run_json("convoy", "status", "--json", town=gtown.town)
    assert [c["id"] for c in listed] == [gtown.ids["convoy"]]


def test_gt_seance_on_an_unknown_name_fails_in_one_line(town: Town) -> None:
    """Before: "No sessions found for zz-nope." and exit 0."""
    proc = run_gt("seance", "zz-nope", town=town)
    assert_one_line_error(proc, 1, "zz-nope")
