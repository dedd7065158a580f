"""The scheduler's rules (DESIGN.md §5), the seed's acceptance criteria, and the known
failures of the original systems, each as a test."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from engine import vocab
from engine.config import SchedulerSettings, TownConfig
from engine.errors import Conflict, LedgerError
from engine.ledger import Ledger
from engine.records import Agent
from engine.scheduler.reconciler import Scheduler
from tests.conftest import add_rig
from tests.recording import RecordingDispatcher


def live_agents(ledger: Ledger) -> list[Agent]:
    return ledger.agents.list()


def serial_convoy(
    ledger: Ledger, n: int = 5, rig: str = "web", staged: bool = False
) -> tuple[str, list[str]]:
    ids: list[str] = []
    for i in range(n):
        deps = [(ids[-1], "blocks")] if ids else []
        ids.append(ledger.beads.create(f"step {i}", rig=rig, deps=deps)["id"])
    convoy = ledger.convoys.create("serial", ids, staged=staged)
    return convoy["id"], ids


# ---- the seed's acceptance criteria ------------------------------------------------------


def test_serial_convoy_never_allocates_more_than_one_polecat(ledger, scheduler, dispatcher):
    add_rig(ledger, "web", "gt")
    _, ids = serial_convoy(ledger)
    for bead_id in ids:
        scheduler.reconcile(dispatcher)
        assert len(live_agents(ledger)) == 1
        assert ledger.beads.get(bead_id)["status"] == vocab.IN_PROGRESS
        for later in ids[ids.index(bead_id) + 1 :]:
            assert ledger.beads.get(later)["assignee"] is None
        ledger.beads.close(bead_id)
        assert len(live_agents(ledger)) == 1
    assert [a.bead_id for a in dispatcher.started] == ids
    assert {a.agent_name for a in dispatcher.started} == {"Toast"}


def test_next_bead_gets_its_agent_within_one_reconcile_of_its_blocker_closing(
    ledger, scheduler, dispatcher
):
    add_rig(ledger, "web", "gt")
    _, ids = serial_convoy(ledger, 3)
    scheduler.reconcile(dispatcher)
    ledger.beads.close(ids[0])
    report = scheduler.reconcile(dispatcher)
    assert [a.bead_id for a in report.assigned] == [ids[1]]
    assert [a.bead_id for a in report.started] == [ids[1]]


def test_cancelling_a_convoy_after_its_first_bead_leaves_no_agent_hooked(
    ledger, scheduler, dispatcher
):
    add_rig(ledger, "web", "gt")
    convoy_id, ids = serial_convoy(ledger)
    scheduler.reconcile(dispatcher)
    ledger.beads.close(ids[0])
    scheduler.reconcile(dispatcher)  # B is hooked and started
    assert ledger.beads.get(ids[1])["status"] == vocab.IN_PROGRESS
    out = ledger.convoys.cancel(convoy_id)
    assert out["cancelled"] == ids[1:]
    assert all(a["hook"] is None for a in ledger.agents.list())
    assert all(ledger.beads.get(b)["status"] == vocab.CANCELLED for b in ids[1:])
    report = scheduler.reconcile(dispatcher)
    assert report.assigned == [] and report.violations == []
    assert dispatcher.sessions == set()  # the idle agent's session was stopped


def test_staged_convoy_dispatches_nothing_until_launched(ledger, scheduler, dispatcher):
    add_rig(ledger, "web", "gt")
    a = ledger.beads.create("a", rig="web")["id"]
    b = ledger.beads.create("b", rig="web")["id"]
    convoy = ledger.convoys.create("staged", [a, b], staged=True)
    assert convoy["status"] == vocab.CONVOY_STAGED
    for _ in range(3):
        assert scheduler.reconcile(dispatcher).assigned == []
    with pytest.raises(Conflict, match="staged convoy"):
        scheduler.sling(a)
    ledger.convoys.launch(convoy["id"])
    report = scheduler.reconcile(dispatcher)
    assert sorted(x.bead_id for x in report.assigned) == sorted([a, b])


def test_name_pool_is_not_consumed_by_blocked_beads(ledger, scheduler, dispatcher):
    add_rig(ledger, "web", "gt")
    serial_convoy(ledger, 10)
    scheduler.reconcile(dispatcher)
    assert [a["name"] for a in live_agents(ledger)] == ["Toast"]
    solo = ledger.beads.create("independent", rig="web")["id"]
    assert scheduler.sling(solo)["agent"] == "Maple"


def test_sling_of_a_ready_bead_assigns_inline_and_names_the_polecat(ledger, scheduler):
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("fix it", rig="web")["id"]
    result = scheduler.sling(bead)
    assert result["agent"] == "Toast" and result["queued"] is False
    assert ledger.beads.get(bead)["status"] == vocab.HOOKED


def test_sling_of_a_blocked_bead_queues_it_and_says_why(ledger, scheduler):
    add_rig(ledger, "web", "gt")
    first = ledger.beads.create("first", rig="web")["id"]
    second = ledger.beads.create("second", rig="web", deps=[(first, "blocks")])["id"]
    result = scheduler.sling(second)
    assert result["agent"] is None and result["queued"]
    assert first in result["reason"] and "blocked" in result["reason"]
    assert ledger.agents.list() == []


def test_filed_beads_are_not_dispatched_until_slung(ledger, scheduler, dispatcher):
    add_rig(ledger, "web", "gt")
    ledger.beads.create("backlog item", rig="web")
    assert scheduler.reconcile(dispatcher).assigned == []


# ---- ordering, capacity, placement -------------------------------------------------------


def test_assignment_order_is_priority_then_age(ledger, clock, dispatcher):
    add_rig(ledger, "web", "gt")
    ids = []
    for prio in (3, 1, 1, 0):
        ids.append(ledger.beads.create(f"p{prio}", rig="web", priority=prio, slung=True)["id"])
        clock.advance(1)
    config = TownConfig(scheduler=SchedulerSettings(max_polecats=1))
    sched = Scheduler(ledger, config)
    order = []
    for _ in ids:
        report = sched.reconcile(dispatcher)
        order.extend(a.bead_id for a in report.assigned)
        ledger.beads.close(order[-1])
    assert order == [ids[3], ids[1], ids[2], ids[0]]


def test_town_and_rig_capacity_are_respected(ledger, dispatcher):
    add_rig(ledger, "web", "gt")
    add_rig(ledger, "api", "ap")
    for i in range(6):
        ledger.beads.create(f"w{i}", rig="web", slung=True)
        ledger.beads.create(f"a{i}", rig="api", slung=True)
    config = TownConfig(scheduler=SchedulerSettings(max_polecats=5, max_polecats_per_rig=3))
    report = Scheduler(ledger, config).reconcile(dispatcher)
    rigs = [a.rig for a in report.assigned]
    assert len(rigs) == 5 and rigs.count("web") <= 3 and rigs.count("api") <= 3


def test_zero_capacity_means_the_default_not_unlimited():
    s = SchedulerSettings(max_polecats=0, max_polecats_per_rig=0)
    assert s.max_polecats == 10 and s.max_polecats_per_rig == 5


def test_capacity_full_queues_the_sling_with_a_reason(ledger):
    add_rig(ledger, "web", "gt")
    sched = Scheduler(ledger, TownConfig(scheduler=SchedulerSettings(max_polecats=1)))
    sched.sling(ledger.beads.create("one", rig="web")["id"])
    result = sched.sling(ledger.beads.create("two", rig="web")["id"])
    assert result["queued"] and "capacity" in result["reason"]


def test_rigless_bead_is_placed_by_capability_then_load(ledger, scheduler, dispatcher):
    add_rig(ledger, "web", "gt", capabilities=["frontend"])
    add_rig(ledger, "api", "ap", capabilities=["python"])
    py = ledger.beads.create("py work", labels=["python"], slung=True)["id"]
    report = scheduler.reconcile(dispatcher)
    assert report.assigned[0].rig == "api"
    assert ledger.beads.get(py)["rig"] == "api"
    # no matching capability: the least loaded rig (web has nobody working)
    other = ledger.beads.create("anything", labels=["docs"], slung=True)["id"]
    scheduler.reconcile(dispatcher)
    assert ledger.beads.get(other)["rig"] == "web"


def test_idle_polecat_is_reused_in_its_own_rig(ledger, scheduler, dispatcher):
    add_rig(ledger, "web", "gt")
    a = ledger.beads.create("a", rig="web", slung=True)["id"]
    scheduler.reconcile(dispatcher)
    ledger.beads.close(a)
    ledger.beads.create("b", rig="web", slung=True)
    report = scheduler.reconcile(dispatcher)
    assert report.assigned[0].agent_name == "Toast"
    assert len(ledger.agents.list()) == 1


# ---- the known failures of the original systems ------------------------------------------


def test_stale_completion_from_an_earlier_attempt_changes_nothing(ledger, scheduler, dispatcher):
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("flaky", rig="web", slung=True)["id"]
    scheduler.reconcile(dispatcher)
    first = dispatcher.started[0]
    dispatcher.kill(first.agent_id)  # the session dies: attempt 1 is over
    scheduler.reconcile(dispatcher)
    ledger.clock.advance(3600)  # type: ignore[attr-defined]
    scheduler.reconcile(dispatcher)
    assert ledger.beads.get(bead)["attempt"] == 2
    before = ledger.beads.get(bead)
    # the zombie of attempt 1 reports in late
    with pytest.raises(Conflict, match="stale attempt 1"):
        ledger.agents.mark_started(first.agent_id, bead, 1)
    assert scheduler.fail(bead, 1, reason="late", kind="agent_died") is None
    assert ledger.beads.get(bead) == before


def test_a_bead_that_keeps_failing_backs_off_then_fails_instead_of_looping(ledger, clock):
    add_rig(ledger, "web", "gt")
    settings = SchedulerSettings(max_attempts=3, backoff_base_seconds=10, breaker_failures=100)
    sched = Scheduler(ledger, TownConfig(scheduler=settings))
    broken = RecordingDispatcher()
    broken.fail_with = "runtime 'nope' not found"
    bead = ledger.beads.create("doomed", rig="web", slung=True)["id"]
    delays = []
    for _ in range(20):
        sched.reconcile(broken)
        b = ledger.beads.get(bead)
        if b["status"] == vocab.FAILED:
            break
        row = ledger.db.conn.execute("SELECT not_before FROM beads WHERE id=?", (bead,)).fetchone()
        delays.append(row[0] - clock())
        # reconciling again before the delay passes does nothing
        assert sched.reconcile(broken).assigned == []
        clock.advance(row[0] - clock() + 0.1)
    b = ledger.beads.get(bead)
    assert b["status"] == vocab.FAILED and b["failures"] == 3
    assert "not found" in b["close_reason"]
    assert delays == [10, 20]
    assert sched.reconcile(broken).assigned == []


def test_circuit_breaker_trips_pauses_dispatch_and_escalates(ledger, clock):
    add_rig(ledger, "web", "gt")
    settings = SchedulerSettings(
        breaker_failures=3, breaker_window_seconds=60, breaker_cooldown_seconds=300, max_attempts=5
    )
    sched = Scheduler(ledger, TownConfig(scheduler=settings))
    broken = RecordingDispatcher()
    broken.fail_with = "exec failed"
    for i in range(5):
        ledger.beads.create(f"b{i}", rig="web", slung=True)
    sched.reconcile(broken)
    assert sched.breaker.state()["state"] == "open"
    result = sched.schedule()
    assert result.assignments == [] and "circuit breaker" in (result.paused or "")
    escalations = ledger.beads.list(bead_type="escalation")
    assert len(escalations) == 1 and escalations[0]["priority"] == 0
    assert any("breaker" in m["subject"] for m in ledger.mail.inbox(["mayor"]))
    # after the cooldown one probe goes out; a success closes the breaker
    clock.advance(301)
    ok = RecordingDispatcher()
    report = sched.reconcile(ok)
    assert len(report.started) == 1
    assert sched.breaker.state()["state"] == "closed"


def test_two_rigs_slung_at_once_do_not_both_get_toast(town, clock):
    setup = Ledger(town.ledger_target, clock=clock)
    add_rig(setup, "web", "gt")
    add_rig(setup, "api", "ap")
    beads = [setup.beads.create("w", rig="web")["id"], setup.beads.create("a", rig="api")["id"]]
    setup.close()
    names: list[str] = []
    barrier = threading.Barrier(2)

    def sling(bead_id: str) -> None:
        led = Ledger(town.ledger_target, clock=clock)  # a separate connection, like a process
        barrier.wait()
        names.append(Scheduler(led, TownConfig()).sling(bead_id)["agent"])
        led.close()

    threads = [threading.Thread(target=sling, args=(b,)) for b in beads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(names) == ["Maple", "Toast"]


def test_an_idle_polecat_is_never_reused_in_a_different_rig(ledger, scheduler, dispatcher):
    add_rig(ledger, "web", "gt")
    add_rig(ledger, "api", "ap")
    a = ledger.beads.create("web work", rig="web", slung=True)["id"]
    scheduler.reconcile(dispatcher)
    ledger.beads.close(a)
    ledger.beads.create("api work", rig="api", slung=True)
    report = scheduler.reconcile(dispatcher)
    assert report.assigned[0].rig == "api" and report.assigned[0].agent_name == "Maple"
    toast = ledger.agents.get("web/polecats/Toast")
    assert toast["rig"] == "web" and toast["hook"] is None


def test_a_bead_is_never_hooked_to_two_agents(ledger, scheduler, dispatcher):
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("one", rig="web", slung=True)["id"]
    scheduler.reconcile(dispatcher)
    with ledger.transaction():
        other = ledger.agents.allocate("web", "Maple", "script")
    with pytest.raises(Conflict), ledger.transaction():
        ledger.agents.assign(other, bead, rig="web")
    with pytest.raises((sqlite3.IntegrityError, LedgerError)), ledger.db.write() as conn:
        conn.execute("UPDATE agents SET hook=? WHERE name='Maple'", (bead,))
    assert scheduler.check_invariants() == []


# ---- agents, recovery, invariants --------------------------------------------------------


def test_dead_session_is_recovered_with_the_next_attempt(ledger, scheduler, dispatcher, clock):
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("work", rig="web", slung=True)["id"]
    scheduler.reconcile(dispatcher)
    dispatcher.kill(dispatcher.started[0].agent_id)
    report = scheduler.reconcile(dispatcher)
    assert report.recovered == [bead]
    b = ledger.beads.get(bead)
    assert b["status"] == vocab.OPEN and b["failures"] == 1
    clock.advance(60)
    report = scheduler.reconcile(dispatcher)
    assert report.started[0].attempt == 2


def test_idle_polecats_retire_after_the_idle_window_and_free_their_name(ledger, clock):
    add_rig(ledger, "web", "gt")
    sched = Scheduler(ledger, TownConfig(scheduler=SchedulerSettings(idle_retire_seconds=60)))
    d = RecordingDispatcher()
    bead = ledger.beads.create("a", rig="web", slung=True)["id"]
    sched.reconcile(d)
    ledger.beads.close(bead)
    clock.advance(61)
    sched.reconcile(d)
    assert ledger.agents.list() != []  # retiring is the deacon's reaper's, not the reconcile's
    from engine.deacon.patrol import PatrolContext
    from engine.deacon.reaper import PATROL as reaper
    from engine.town import Town

    ctx = PatrolContext(ledger, sched.config, Town("/nonexistent"), ledger.now(), d)
    reaper.act(ctx, reaper.work(ctx, reaper.look(ctx)))
    assert ledger.agents.list() == []
    assert ledger.agents.list(include_retired=True)[0]["status"] == vocab.AGENT_RETIRED


def test_invariant_violations_are_reported_once_and_recorded(ledger, scheduler, dispatcher):
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("a", rig="web", slung=True)["id"]
    scheduler.reconcile(dispatcher)
    with ledger.db.write() as conn:  # corrupt the state behind the scheduler's back
        conn.execute("UPDATE beads SET assignee=NULL WHERE id=?", (bead,))
    found = scheduler.check_invariants()
    assert any("no assignee" in v for v in found)
    scheduler.check_invariants()
    recorded = [e for e in ledger.state.recent(limit=100) if e["kind"] == "invariant_violated"]
    assert len(recorded) == 1


def test_a_request_that_keeps_failing_is_parked_not_retried_forever(ledger, scheduler, dispatcher):
    ledger.inbox.put("no_such_kind", {})
    for _ in range(10):
        scheduler.reconcile(dispatcher)
    parked = ledger.inbox.parked()
    assert len(parked) == 1 and parked[0]["tries"] == 5


def test_names_are_unique_town_wide_and_the_pool_overflows_to_numbered_names(ledger):
    add_rig(ledger, "web", "gt")
    sched = Scheduler(
        ledger, TownConfig(scheduler=SchedulerSettings(max_polecats=30, max_polecats_per_rig=30))
    )
    for i in range(22):
        ledger.beads.create(f"b{i}", rig="web", slung=True)
    report = sched.reconcile(RecordingDispatcher())
    names = [a.agent_name for a in report.assigned]
    assert names[:3] == ["Toast", "Maple", "Birch"]
    assert names[20:] == ["Polecat-21", "Polecat-22"]
    assert len(set(names)) == 22
