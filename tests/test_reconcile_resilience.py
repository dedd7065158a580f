"""No single bad row may stop the engine (issue 8, sections 2, 5 and 7).

A reconcile that hits an error on one bead parks that bead (visible in `gt status`, in the
app's Problems data and as an escalation) and goes on with the rest; a failure that is a
bead's own fault does not count towards the town-wide circuit breaker; and every failure's
reason reaches the log line, `gt bead show`, the escalation and the Problems data.
"""

from __future__ import annotations

import logging

import pytest

from engine import vocab
from engine.config import SchedulerSettings, TownConfig
from engine.ledger import Ledger
from engine.polecats.dispatcher import Assignment, DispatchError, Started
from engine.records import Bead
from engine.scheduler.reconciler import Scheduler
from engine.town import Town
from engine.views.town_snapshot import problems
from tests.cli_support import run_gt, run_json
from tests.conftest import add_rig, script_body
from tests.recording import RecordingDispatcher


def raw(town: Town, sql: str, *args: object) -> None:
    """Change the ledger behind the engine's back, as another (older) writer could: its own
    connection, no store, no rule (on either backend)."""
    other = town.open_ledger()
    try:
        with other.db.write() as conn:
            conn.execute(sql, args)
    finally:
        other.close()


def escalations_about(ledger: Ledger, bead_id: str) -> list[Bead]:
    return [
        e
        for e in ledger.beads.list(bead_type="escalation")
        if e["metadata"].get("source") == bead_id
    ]


# ---- (B) one bad bead is parked, the rest go on --------------------------------------------


def test_a_bead_whose_assignment_fails_is_parked_and_the_others_are_dispatched(
    town: Town, ledger: Ledger, scheduler: Scheduler, dispatcher: RecordingDispatcher
) -> None:
    add_rig(ledger, "web", "gt")
    bad = ledger.beads.create("held, then clobbered", rig="web", slung=True)["id"]
    scheduler.reconcile(dispatcher)
    # what the old `gt import` did: the held bead back to open while Toast keeps its hook
    raw(town, "UPDATE beads SET status='open', assignee=NULL WHERE id=?", bad)
    good = [ledger.beads.create(f"work {i}", rig="web", slung=True)["id"] for i in range(2)]

    report = scheduler.reconcile(dispatcher)
    assert sorted(a.bead_id for a in report.started) == sorted(good)
    parked = {p["id"]: p for p in run_json("status", "--json", town=town)["parked_beads"]}
    reason = parked[bad]["reason"]  # each backend's own words for the broken rule
    assert "UNIQUE constraint failed: agents.hook" in reason or "agents_one_per_hook" in reason
    assert bad in run_gt("status", town=town).stdout
    assert any(p["kind"] == "parked" and p["id"] == bad for p in problems(ledger))
    (esc,) = escalations_about(ledger, bad)
    assert "UNIQUE constraint failed" in esc["body"] or "agents_one_per_hook" in esc["body"]

    # parked means parked: no retry loop, no second escalation, the town goes on
    more = ledger.beads.create("more work", rig="web", slung=True)["id"]
    report = scheduler.reconcile(dispatcher)
    assert [a.bead_id for a in report.started] == [more]
    assert len(escalations_about(ledger, bad)) == 1

    # a person deals with it: the park is lifted with the change
    assert run_gt("bead", "cancel", bad, town=town).returncode == 0
    scheduler.reconcile(dispatcher)
    assert not any(p["id"] == bad for p in problems(ledger))
    assert run_json("status", "--json", town=town)["parked_beads"] == []


class ExplodingDispatcher(RecordingDispatcher):
    """Starting one particular bead raises what no dispatcher is supposed to raise."""

    def __init__(self, bead_id: str) -> None:
        super().__init__()
        self.bead_id = bead_id

    def start(self, assignment: Assignment) -> Started:
        if assignment.bead_id == self.bead_id:
            raise OSError(28, "No space left on device")
        return super().start(assignment)


def test_a_bead_whose_dispatch_raises_does_not_stop_the_others(
    ledger: Ledger, scheduler: Scheduler
) -> None:
    add_rig(ledger, "web", "gt")
    first = ledger.beads.create("first", rig="web", slung=True, priority=0)["id"]
    rest = [ledger.beads.create(f"b{i}", rig="web", slung=True)["id"] for i in range(3)]
    disp = ExplodingDispatcher(first)
    report = scheduler.reconcile(disp)
    assert sorted(a.bead_id for a in report.started) == sorted(rest)
    assert first in {p["id"] for p in problems(ledger) if p["kind"] == "parked"}
    assert len(escalations_about(ledger, first)) == 1
    assert scheduler.reconcile(disp).started == []  # parked: not retried every tick


# ---- (C) a bead's own fault does not trip the town-wide breaker ----------------------------


class BeadFaultDispatcher(RecordingDispatcher):
    """The bead names a file that is not there: its own fault, whatever the runtime."""

    def start(self, assignment: Assignment) -> Started:
        if "missing" in assignment.bead_id:
            raise DispatchError("plan file specs/missing.md does not exist", fault="bead")
        return super().start(assignment)


def test_bead_faults_fail_the_bead_at_once_and_do_not_count_towards_the_breaker(
    ledger: Ledger, clock
) -> None:
    add_rig(ledger, "web", "gt")
    settings = SchedulerSettings(breaker_failures=4, breaker_window_seconds=600, max_attempts=3)
    sched = Scheduler(ledger, TownConfig(scheduler=settings))
    bad = []
    with ledger.transaction():
        for i in range(4):
            bad.append(
                ledger.beads.insert(
                    title=f"bad {i}",
                    rig="web",
                    bead_type="task",
                    priority=0,
                    slung=True,
                    bead_id=f"gt-missing{i}",
                )
            )
    good = ledger.beads.create("good", rig="web", slung=True)["id"]
    disp = BeadFaultDispatcher()
    for _ in range(3):
        sched.reconcile(disp)
        clock.advance(30)
    assert sched.breaker.state()["state"] == "closed"
    for b in bad:
        got = ledger.beads.require(b)
        assert got["status"] == vocab.FAILED and "specs/missing.md" in (got["last_error"] or "")
    assert ledger.beads.require(good)["status"] == vocab.IN_PROGRESS
    later = ledger.beads.create("later", rig="web", slung=True)["id"]
    assert [a.bead_id for a in sched.reconcile(disp).started] == [later]


@pytest.mark.slow
def test_four_undispatchable_ids_do_not_trip_the_breaker_with_real_git_and_tmux(
    real_town_factory,
) -> None:
    rt = real_town_factory(
        {"scheduler": {"breaker_failures": 4, "breaker_window_seconds": 600, "max_attempts": 3}}
    )
    # rows written before the id rule existed (an old ledger, an old import)
    for i, ident in enumerate(["../../etc", "gt-a..b", "gt-x/../../y", "gt-z.lock/q"]):
        raw(
            rt.town,
            "INSERT INTO beads(id, rig, type, status, priority, title, created_at, updated_at,"
            " slung, seq) VALUES (?, 'web', 'task', 'open', 0, ?, '2020-01-01T00:00:00Z',"
            " '2020-01-01T00:00:00Z', 1, ?)",
            ident,
            f"bad {i}",
            1000 + i,
        )
    for _ in range(3):
        rt.reconcile()
    assert rt.scheduler.breaker.state()["state"] == "closed"
    failed = rt.ledger.beads.list(status=vocab.FAILED)
    assert len(failed) == 4 and all("not a valid bead id" in b["last_error"] for b in failed)
    escalations = rt.ledger.beads.list(bead_type="escalation")
    assert not any("breaker" in e["title"].lower() for e in escalations)
    # and the town still dispatches real work at once
    good = rt.ledger.beads.create(
        "good", rig="web", slung=True, body=script_body("write ok.txt ok", "commit ok", "hang")
    )["id"]
    rt.drive(lambda: rt.ledger.beads.get(good)["status"] == vocab.IN_PROGRESS, timeout=30)


# ---- (D) every failure's reason reaches the log, the bead, the escalation, the app ---------


def test_a_tripped_breaker_says_why_the_attempts_failed(
    town: Town, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    add_rig(ledger, "web", "gt")
    settings = SchedulerSettings(breaker_failures=3, breaker_window_seconds=60, max_attempts=5)
    sched = Scheduler(ledger, TownConfig(scheduler=settings))
    broken = RecordingDispatcher()
    why = "runtime 'claude': command 'claude' not found on PATH"
    broken.fail_with = why
    beads = [ledger.beads.create(f"b{i}", rig="web", slung=True)["id"] for i in range(3)]
    with caplog.at_level(logging.INFO, logger="gastown"):
        sched.reconcile(broken)
    assert sched.breaker.state()["state"] == "open"
    tripped = [
        r.getMessage() for r in caplog.records if "circuit breaker tripped" in r.getMessage()
    ]
    assert tripped and why in tripped[0], tripped
    (esc,) = [
        e for e in ledger.beads.list(bead_type="escalation") if "breaker" in e["title"].lower()
    ]
    assert why in esc["body"] and all(b in esc["body"] for b in beads)
    (problem,) = [p for p in problems(ledger) if p["kind"] == "breaker"]
    assert why in problem["text"]
    shown = run_gt("bead", "show", beads[0], town=town).stdout
    assert why in shown
    assert why in run_gt("status", town=town).stdout


@pytest.mark.slow
def test_an_agent_that_dies_leaves_its_last_words_as_the_reason(real_town_factory) -> None:
    rt = real_town_factory({"scheduler": {"max_attempts": 1}})
    bead = rt.ledger.beads.create(
        "doomed", rig="web", slung=True, body=script_body("fail the frobnicator is missing")
    )["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.FAILED, timeout=30)
    got = rt.ledger.beads.get(bead)
    assert "the frobnicator is missing" in got["last_error"], got
    esc = escalations_about(rt.ledger, bead)
    assert esc and "the frobnicator is missing" in esc[0]["body"]


# ---- a finishing session is not adopted as new work's ------------------------------------


class FinishingSession(RecordingDispatcher):
    """The agent's previous session is still alive (finishing after `gt done`), its
    worktree on the previous bead's branch: the engine died between assigning new work and
    launching it."""

    def __init__(self, branch: str) -> None:
        super().__init__()
        self.branch = branch

    def describe(self, assignment: Assignment) -> Started:
        return Started(session="web+Toast", worktree="/w", branch=self.branch)


@pytest.mark.parametrize("on_new_bead", [False, True])
def test_a_live_session_is_adopted_only_when_it_is_on_the_assigned_beads_branch(
    ledger: Ledger, scheduler: Scheduler, on_new_bead: bool
) -> None:
    add_rig(ledger, "web", "gt")
    new = ledger.beads.create("new work", rig="web", slung=True)["id"]
    with ledger.transaction():
        agent = ledger.agents.allocate("web", "Toast", "script")
        ledger.agents.assign(agent, new, rig="web")
    disp = FinishingSession(f"polecat/Toast/{new if on_new_bead else 'gt-old1'}")
    disp.sessions.add(agent["id"])  # alive
    report = scheduler.reconcile(disp)
    if on_new_bead:  # its own session, started before the crash: adopted, not started twice
        assert disp.started == [] and report.started == []
        assert ledger.agents.require(agent["id"])["status"] == "working"
    else:  # the previous bead's session: launched afresh (which ends the old one)
        assert [a.bead_id for a in disp.started] == [new]


def test_a_ledger_outage_while_recording_a_start_keeps_the_session_and_adopts_it(
    ledger: Ledger, scheduler: Scheduler, dispatcher: RecordingDispatcher, monkeypatch
) -> None:
    """The ledger's server went away between a session's start and its record: that says
    nothing about the bead, so the session is kept (not stopped as if the bead had moved
    on), the reconcile fails, and the next one adopts it — started once, never twice."""
    from engine.errors import LedgerError

    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("work", rig="web", slung=True)["id"]
    real = ledger.agents.mark_started
    outage = {"left": 1}

    def flaky(*args: object, **kwargs: object) -> None:
        if outage["left"]:
            outage["left"] -= 1
            raise LedgerError("cannot reach the ledger at postgresql://db/town: gone")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger.agents, "mark_started", flaky)
    with pytest.raises(LedgerError):
        scheduler.reconcile(dispatcher)
    assert dispatcher.stopped == [] and len(dispatcher.started) == 1
    scheduler.reconcile(dispatcher)
    assert [a.bead_id for a in dispatcher.started] == [bead]  # adopted, not started again
    agent = ledger.agents.require(dispatcher.started[0].agent_id)
    assert agent["status"] == vocab.AGENT_WORKING and agent["hook"] == bead
