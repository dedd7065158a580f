"""A session's tokens go to the bead and attempt it worked, however late the engine first
reads its transcript: the bead is the agent's assignment the session *started* in (the
CLI's own first timestamp), not the agent's hook at the time of reading. Before this, a
session first read after `gt done` was stored with no bead, and one first read after the
agent took its next bead was put on that next bead (engine/usage/attribution.py)."""

from __future__ import annotations

from engine.commands import done as done_cmd
from engine.commands.costs import RecordUsage, costs, record_usage
from engine.config import TownConfig
from engine.ledger import Ledger
from engine.scheduler.reconciler import Scheduler
from engine.usage import SessionUsage
from engine.usage.attribution import Attempt, attribute
from tests.conftest import Clock, add_rig
from tests.test_usage_ledger import UsageDispatcher


def started_at(session: str, at: float, i: int, o: int) -> SessionUsage:
    return SessionUsage("claude", session, "m", i, o, started=at)


def gt_done(ledger: Ledger, agent: str, bead: str) -> None:
    with ledger.transaction(durable=True):
        done_cmd.record(
            ledger,
            done_cmd.DoneRequest(agent, bead, 1, worktree=""),
            branch=f"polecat/{bead}",
            commit="c0ffee",
        )


def sling(ledger: Ledger, bead: str) -> None:
    with ledger.transaction():
        ledger.beads.set_slung(bead, actor="mayor")


def test_sessions_read_late_land_on_the_bead_they_worked(ledger: Ledger, clock: Clock) -> None:
    add_rig(ledger, "web", "gt")
    a, b, c = (ledger.beads.create(t, rig="web")["id"] for t in ("a", "b", "c"))
    convoy = ledger.convoys.create("ab", [a, b], staged=True)["id"]
    sched, disp = Scheduler(ledger, TownConfig()), UsageDispatcher()
    sling(ledger, a)
    sched.reconcile(disp)
    (agent,) = ledger.agents.list()
    assert agent["hook"] == a
    polecat = agent["id"]
    # a's session starts a second after the hook and is done within ten; its transcript
    # only shows up after gt done, when the next reconcile also hooks the agent to b.
    sa = started_at("sa", clock.t + 1, 1000, 100)
    clock.t += 10
    gt_done(ledger, polecat, a)
    sling(ledger, b)
    disp.recorded[polecat] = [sa]
    sched.reconcile(disp)
    assert ledger.agents.require(polecat)["hook"] == b
    # b's session is short: started, done, and the agent already on c before it is read.
    sb = started_at("sb", clock.t + 1, 200, 20)
    clock.t += 10
    gt_done(ledger, polecat, b)
    sling(ledger, c)
    sched.reconcile(disp)
    assert ledger.agents.require(polecat)["hook"] == c
    sc = started_at("sc", clock.t + 1, 30, 3)
    clock.t += 5
    disp.recorded[polecat] = [sa, sb, sc]
    sched.reconcile(disp)

    on = {r["session"]: (r["bead_id"], r["attempt"]) for r in ledger.usage.rows(agent=polecat)}
    assert on == {"sa": (a, 1), "sb": (b, 1), "sc": (c, 1)}
    by_bead = {line.key: line.tokens for line in costs(ledger, TownConfig()).lines}
    assert by_bead == {a: 1100, b: 220, c: 33}
    (line,) = costs(ledger, TownConfig(), "convoy").lines
    assert (line.key, line.tokens, line.sessions) == (convoy, 1320, 2)
    assert costs(ledger, TownConfig()).total.tokens == 1353


def test_a_session_gets_its_attempt_and_a_stored_one_without_a_bead_gets_its_bead(
    ledger: Ledger, clock: Clock
) -> None:
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("flaky", rig="web", slung=True)["id"]
    with ledger.transaction():
        agent = ledger.agents.allocate("web", "Toast", "claude")
        assert ledger.agents.assign(agent, bead, rig="web") == 1
    first = started_at("first", clock.t + 1, 500, 50)
    clock.t += 30
    with ledger.transaction():  # the session died: the bead goes back, tried again
        ledger.agents.fail_attempt(
            bead,
            1,
            reason="session died",
            kind="agent_died",
            failures=1,
            retry_in=0.0,
            failed_reason="",
            close_reason="",
        )
        assert ledger.agents.assign(agent, bead, rig="web") == 2
    second = started_at("second", clock.t + 1, 70, 7)
    # An older engine stored the first session with no bead (read after its hook went).
    with ledger.transaction():
        ledger.usage.record(agent["id"], rig="web", bead_id=None, attempt=0, sessions=[first])
    assert record_usage(ledger, RecordUsage(agent["id"], (first, second))) == 2
    on = {r["session"]: (r["bead_id"], r["attempt"]) for r in ledger.usage.rows()}
    assert on == {"first": (bead, 1), "second": (bead, 2)}
    # Read again: nothing changes, nothing counts twice.
    assert record_usage(ledger, RecordUsage(agent["id"], (first, second))) == 0
    (line,) = costs(ledger, TownConfig()).lines
    assert (line.key, line.tokens, line.sessions) == (bead, 627, 2)


def test_the_window_a_session_started_in_decides() -> None:
    windows = [Attempt(100.0, "a", 1), Attempt(200.0, "b", 1), Attempt(300.0, "b", 2)]
    assert attribute(150.0, windows, "b", 2) == ("a", 1, True)
    assert attribute(200.0, windows, None, 0) == ("b", 1, True)  # from the hook's moment
    assert attribute(1e9, windows, None, 0) == ("b", 2, True)  # after the last: still its
    assert attribute(50.0, windows, "b", 2) == (None, 0, False)  # before any assignment
    # No time in the transcript: the hook at reading is the only guess (fills, never moves)
    assert attribute(None, windows, "b", 2) == ("b", 2, False)
    assert attribute(None, [], None, 3) == (None, 0, False)
