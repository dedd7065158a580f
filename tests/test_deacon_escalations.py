"""What the engine hands to a person goes through the escalation ladder
(engine/escalations.py): an agent's `gt done --status escalated` and a quarantined
crash-looping bead each file one escalation per cause, routed by severity, counted when
the cause comes back while it is open."""

from __future__ import annotations

from engine import vocab
from engine.commands import done as done_cmd
from engine.config import SchedulerSettings, TownConfig
from engine.deacon.patrol import PatrolContext
from engine.deacon.settings import DeaconSettings
from engine.scheduler.reconciler import Scheduler
from tests.conftest import add_rig


def open_escalations(ledger) -> list[dict]:
    return ledger.beads.list(bead_type="escalation", status="open")


def hand_back(ledger, sched, dispatcher, bead, summary="stuck on the schema"):
    sched.reconcile(dispatcher)
    agent = next(a for a in ledger.agents.list() if a["hook"] == bead)
    request = done_cmd.DoneRequest(
        agent["id"], bead, agent["attempt"], worktree="", status="escalated", summary=summary
    )
    return agent, done_cmd.record(ledger, request, branch=None, commit=None)


def test_an_agents_escalated_done_goes_through_the_ladder_once_per_bead(ledger, dispatcher):
    add_rig(ledger, "web", "gt")
    sched = Scheduler(ledger, TownConfig())
    bead = ledger.beads.create("the work", rig="web", slung=True)["id"]
    _, out = hand_back(ledger, sched, dispatcher, bead)
    esc = ledger.beads.require(str(out.escalation))
    meta = esc["metadata"]
    assert (meta["cause"], meta["severity"], meta["source"], meta["count"]) == (
        f"escalated:{bead}",
        "medium",
        bead,
        1,
    )
    assert meta["rig"] == "web" and meta["raises"] == 0  # the ladder can raise it
    # medium's route: the rig's witness first, then the mayor
    for box in ("web/witness", vocab.MAYOR):
        assert [m["subject"] for m in ledger.mail.inbox([box])] == [f"[medium] {esc['title']}"]
    b = ledger.beads.require(bead)
    assert b["status"] == vocab.OPEN and not b["slung"] and b["assignee"] is None
    handed = [e for e in ledger.beads.history(bead) if e["kind"] == "escalated"]
    assert handed[-1]["data"]["escalation"] == esc["id"]

    # slung again and handed back again while the first is open: counted, not a new one
    ledger.beads.set_slung(bead, actor="mayor")
    _, again = hand_back(ledger, sched, dispatcher, bead, summary="still stuck")
    assert again.escalation == esc["id"]
    assert [e["id"] for e in open_escalations(ledger)] == [esc["id"]]
    assert ledger.beads.require(esc["id"])["metadata"]["count"] == 2
    assert len(ledger.mail.inbox([vocab.MAYOR])) == 1


def test_a_quarantined_bead_is_escalated_once(ledger, town, clock, dispatcher):
    from engine.deacon.crashloop import PATROL

    add_rig(ledger, "web", "gt")
    config = TownConfig(
        scheduler=SchedulerSettings(max_attempts=10, backoff_base_seconds=0),
        deacon=DeaconSettings(crash_loop_failures=2, crash_loop_window_seconds=600),
    )
    sched = Scheduler(ledger, config)
    bead = ledger.beads.create("flaky", rig="web", slung=True)["id"]

    def crash_loop() -> None:
        for _ in range(2):
            sched.reconcile(dispatcher)
            b = ledger.beads.get(bead)
            sched.fail(bead, b["attempt"], reason="segfault", kind="agent_died")
            clock.advance(10)
        ctx = PatrolContext(ledger, config, town, ledger.now(), dispatcher=dispatcher)
        PATROL.act(ctx, PATROL.work(ctx, PATROL.look(ctx)))
        assert ledger.beads.get(bead)["status"] == vocab.FAILED

    crash_loop()
    [esc] = open_escalations(ledger)
    assert esc["metadata"]["cause"] == f"quarantined:{bead}"
    assert esc["metadata"]["severity"] == "high" and "segfault" in esc["body"]
    assert [m["subject"] for m in ledger.mail.inbox([vocab.MAYOR])] == [f"[high] {esc['title']}"]

    from engine.commands import bead_actions

    bead_actions.reopen(ledger, bead, actor="mayor")
    ledger.beads.set_slung(bead, actor="mayor")
    crash_loop()  # quarantined again while the first escalation is open: counted
    assert [e["id"] for e in open_escalations(ledger)] == [esc["id"]]
    assert ledger.beads.require(esc["id"])["metadata"]["count"] == 2
