"""The witness judges and the scheduler acts: verdicts, not writes, come out of a patrol."""

from __future__ import annotations

from engine import vocab
from engine.config import TownConfig, WitnessSettings
from engine.polecats.witness import HealthChanged, NudgeDue, RedispatchDue, RestartDue, Witness
from engine.scheduler.reconciler import Scheduler
from tests.conftest import add_rig
from tests.recording import RecordingDispatcher

WITNESS = WitnessSettings(stall_seconds=60, gupp_seconds=600, ladder_seconds=30, max_restarts=1)


def working_bead(ledger, dispatcher):
    add_rig(ledger, "web", "gt")
    sched = Scheduler(ledger, TownConfig(witness=WITNESS))
    bead = ledger.beads.create("quiet work", rig="web", slung=True)["id"]
    sched.reconcile(dispatcher)
    return sched, bead


def test_a_patrol_returns_verdicts_and_writes_nothing(ledger, clock):
    dispatcher = RecordingDispatcher()
    _, bead = working_bead(ledger, dispatcher)
    clock.advance(61)
    before = ledger.agents.list()
    verdicts = Witness(ledger, WITNESS, dispatcher).patrol(dispatcher.alive())
    assert [type(v) for v in verdicts] == [HealthChanged, NudgeDue]
    assert verdicts[0].health == vocab.AGENT_STALLED
    assert bead in verdicts[1].message
    assert ledger.agents.list() == before
    assert ledger.inbox.pending() == []


def test_the_scheduler_climbs_the_ladder_the_witness_decides(ledger, clock):
    dispatcher = RecordingDispatcher()
    sched, bead = working_bead(ledger, dispatcher)
    witness = Witness(ledger, WITNESS, dispatcher)
    seen = []
    for _ in range(12):
        clock.advance(61)
        seen += [
            type(v) for v in witness.patrol(dispatcher.alive()) if type(v) is not HealthChanged
        ]
        sched.reconcile(dispatcher)  # acts on the same verdicts (the patrol is pure)
        if RedispatchDue in seen:
            break
    assert seen == [NudgeDue, RestartDue, RedispatchDue]
    b = ledger.beads.get(bead)
    assert b["failures"] == 1 and b["last_error"].endswith("(nudged and restarted)")
    kinds = [e["kind"] for e in ledger.beads.history(bead)]
    assert "agent_stalled_out" in kinds
    agent_events = [e["kind"] for e in ledger.state.events_after(0)]
    assert agent_events.index("witness_nudged") < agent_events.index("witness_restarted")
    assert dispatcher.stopped  # the last rung killed the session before re-dispatching


class EchoingDispatcher(RecordingDispatcher):
    """A session whose only output is the echo of a nudge typed a tick after it was asked
    for (the fleet types nudges from the inbox on its next pass)."""

    def __init__(self) -> None:
        super().__init__()
        self.typed: float | None = None
        self.output: float | None = None

    def nudged_at(self, agent):
        return self.typed

    def progress_marker(self, agent):
        return self.output


def test_a_nudges_late_echo_is_not_progress_so_a_silent_agent_climbs_the_ladder(ledger, clock):
    dispatcher = EchoingDispatcher()
    sched, _ = working_bead(ledger, dispatcher)
    witness = Witness(ledger, WITNESS, dispatcher)
    clock.advance(61)
    sched.reconcile(dispatcher)  # the nudge is asked for (rung 1)
    asked = ledger.agents.list()[0]["info"]["ladder"]["at"]
    clock.advance(5)  # typed a tick later; its echo lands a moment after
    dispatcher.typed = ledger.now()
    dispatcher.output = ledger.now() + 0.5
    clock.advance(30)
    assert dispatcher.output > asked + 1.5  # the old rule (grace from the asking) took it
    verdicts = [type(v) for v in witness.patrol(dispatcher.alive())]
    assert RestartDue in verdicts, verdicts
    # real output after the echo is progress
    dispatcher.output = ledger.now()
    assert [type(v) for v in witness.patrol(dispatcher.alive())] == [HealthChanged]
