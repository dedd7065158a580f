"""The town's failure rules (engine.policy), and proof that the scheduler's and the
refinery's paths apply the same ones."""

from __future__ import annotations

import pytest

from engine import vocab
from engine.commands import done as done_cmd
from engine.config import RigSettings, SchedulerSettings, TownConfig
from engine.ledger import Ledger
from engine.policy import (
    Retry,
    RetryPolicy,
    ladder_wait,
    rejection,
    rig_capacity,
    rig_has_room,
    town_has_room,
)
from engine.records import Bead
from engine.refinery import send_back
from engine.scheduler.reconciler import Scheduler
from tests.conftest import Clock, add_rig
from tests.recording import RecordingDispatcher

SETTINGS = SchedulerSettings(
    max_attempts=5, backoff_base_seconds=10, backoff_max_seconds=25, breaker_failures=100
)


def test_backoff_doubles_from_the_base_and_stops_at_the_max():
    retry = RetryPolicy(max_attempts=10, backoff_base=5, backoff_max=300)
    assert [retry.backoff(n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]


def test_attempts_are_used_up_at_max_attempts_and_then_there_is_no_delay():
    retry = RetryPolicy(max_attempts=3, backoff_base=5, backoff_max=300)
    assert retry.after(1) == Retry(1, give_up=False, delay=5)
    assert retry.after(2) == Retry(2, give_up=False, delay=10)
    assert retry.after(3) == Retry(3, give_up=True, delay=0.0)
    assert retry.exhausted(4)


def test_the_policy_reads_town_toml_and_a_beads_own_fault_gets_one_attempt():
    assert RetryPolicy.of(SETTINGS) == RetryPolicy(5, 10, 25)
    own = RetryPolicy.of(SETTINGS, bead_fault=True)
    assert own.after(1).give_up


def test_a_rejection_sends_work_back_at_once_but_still_counts():
    retry = rejection(2)
    assert retry.after(1) == Retry(1, give_up=False, delay=0.0)
    assert retry.after(2).give_up


def test_the_witness_waits_twice_as_long_on_each_rung():
    assert [ladder_wait(120, rung) for rung in (0, 1, 2, 3)] == [120, 120, 240, 480]


def test_a_rig_may_have_its_own_max_but_never_more_than_the_towns():
    town = SchedulerSettings(max_polecats=4, max_polecats_per_rig=3)
    assert rig_capacity(town, None) == 3
    assert rig_capacity(town, RigSettings()) == 3  # 0: no max of its own
    assert rig_capacity(town, RigSettings(max_polecats=2)) == 2
    assert rig_capacity(town, RigSettings(max_polecats=9)) == 4
    assert rig_capacity(SchedulerSettings(max_polecats=2, max_polecats_per_rig=3), None) == 2


def test_there_is_room_for_a_polecat_only_below_each_max():
    town = SchedulerSettings(max_polecats=4, max_polecats_per_rig=3)
    assert [town_has_room(busy, town) for busy in (0, 3, 4, 5)] == [True, True, False, False]
    assert [rig_has_room(busy, 2) for busy in (0, 1, 2, 3)] == [True, True, False, False]
    assert not rig_has_room(0, 0)


def test_town_toml_asks_the_policy_for_a_rigs_capacity():
    config = TownConfig(
        scheduler=SchedulerSettings(max_polecats=4, max_polecats_per_rig=3),
        rigs={"web": RigSettings(max_polecats=9), "api": RigSettings(max_polecats=1)},
    )
    for rig in ("web", "api", "other"):
        assert config.rig_capacity(rig) == rig_capacity(config.scheduler, config.rigs.get(rig))
    assert [config.rig_capacity(r) for r in ("web", "api", "other")] == [4, 1, 3]


def _delay(ledger: Ledger, clock: Clock, bead: str) -> float:
    # not_before is not part of a bead's public shape; read the column itself
    row = ledger.db.conn.execute("SELECT not_before FROM beads WHERE id=?", (bead,)).fetchone()
    return float(row[0]) - clock()


def dispatch_failure_delays(ledger: Ledger, clock: Clock) -> tuple[list[float], Bead]:
    """Fail a bead's dispatch until it fails for good; the delay after each failure."""
    sched = Scheduler(ledger, TownConfig(scheduler=SETTINGS))
    broken = RecordingDispatcher()
    broken.fail_with = "runtime 'nope' not found"
    bead = ledger.beads.create("dispatch keeps failing", rig="web", slung=True)["id"]
    delays: list[float] = []
    while True:
        sched.reconcile(broken)
        got = ledger.beads.get(bead)
        assert got is not None
        if got["status"] == vocab.FAILED:
            return delays, got
        delays.append(_delay(ledger, clock, bead))
        clock.advance(delays[-1] + 0.1)


def gate_failure_delays(ledger: Ledger, clock: Clock) -> tuple[list[float], Bead]:
    """Submit a bead's work and fail its gates until it fails for good (the refinery's
    call, without git); the delay after each failure."""
    sched = Scheduler(ledger, TownConfig(scheduler=SETTINGS))
    dispatcher = RecordingDispatcher()
    bead = ledger.beads.create("gates keep failing", rig="web", slung=True)["id"]
    delays: list[float] = []
    while True:
        sched.reconcile(dispatcher)
        agent = next(a for a in ledger.agents.list() if a["hook"] == bead)
        out = done_cmd.record(
            ledger,
            done_cmd.DoneRequest(agent["id"], bead, agent["attempt"], worktree=""),
            branch=f"polecat/{agent['name']}/{bead}",
            commit="a" * 40,
        )
        send_back.gates_failed(
            ledger,
            str(out.merge_request),
            reason="test failed",
            log=None,
            retry=RetryPolicy.of(SETTINGS),
        )
        got = ledger.beads.get(bead)
        assert got is not None
        if got["status"] == vocab.FAILED:
            return delays, got
        delays.append(_delay(ledger, clock, bead))
        clock.advance(delays[-1] + 0.1)


def test_a_gate_failure_and_a_dispatch_failure_back_off_by_the_same_schedule(ledger, clock):
    add_rig(ledger, "web", "gt")
    dispatch, dispatched = dispatch_failure_delays(ledger, clock)
    gates, gated = gate_failure_delays(ledger, clock)
    retry = RetryPolicy.of(SETTINGS)
    assert dispatch == gates == [retry.backoff(n) for n in range(1, 5)] == [10, 20, 25, 25]
    assert dispatched["failures"] == gated["failures"] == SETTINGS.max_attempts


@pytest.mark.parametrize("first", ["gate", "dispatch"])
def test_gate_and_dispatch_failures_count_towards_one_schedule(ledger, clock, first):
    # Two failures of either kind: the second waits twice the first, whichever came first.
    add_rig(ledger, "web", "gt")
    sched = Scheduler(ledger, TownConfig(scheduler=SETTINGS))
    ok, broken = RecordingDispatcher(), RecordingDispatcher()
    broken.fail_with = "runtime 'nope' not found"
    bead = ledger.beads.create("mixed failures", rig="web", slung=True)["id"]
    delays = []
    for kind in (first, "dispatch" if first == "gate" else "gate"):
        if kind == "dispatch":
            sched.reconcile(broken)
        else:
            sched.reconcile(ok)
            agent = next(a for a in ledger.agents.list() if a["hook"] == bead)
            out = done_cmd.record(
                ledger,
                done_cmd.DoneRequest(agent["id"], bead, agent["attempt"], worktree=""),
                branch="polecat/x",
                commit="b" * 40,
            )
            send_back.gates_failed(
                ledger,
                str(out.merge_request),
                reason="lint",
                log=None,
                retry=RetryPolicy.of(SETTINGS),
            )
        delays.append(_delay(ledger, clock, bead))
        clock.advance(delays[-1] + 0.1)
    assert delays == [10, 20]
