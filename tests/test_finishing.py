"""Sessions end when the agent is finished, not when the ledger moves: after `gt done` the
CLI keeps its session until its screen reads idle twice (or the grace period ends); a CLI
idle at its prompt with work on its hook is nudged from the screen within two ticks, and
climbs the ladder if it keeps idling; a nudge waits while the screen reads working."""

from __future__ import annotations

from typing import Any

import pytest

from engine import vocab
from engine.polecats import session_io
from engine.polecats.dispatcher import NotYet
from engine.polecats.witness import IDLE_NUDGE_TEXT
from tests.test_witness_screens import WITNESS, screen, tick, town


def finish(ledger, agent_id: str) -> None:
    """What `gt done` writes: a merge request, the bead in review, the agent unhooked."""
    agent = ledger.agents.require(agent_id)
    ledger.agents.submit(
        agent_id,
        agent["hook"],
        agent["attempt"],
        title="done",
        summary=None,
        branch="b",
        commit="c" * 40,
        reason="done",
    )


def nudges(ledger) -> list[dict[str, Any]]:
    return [e for e in ledger.state.events_after(0) if e["kind"] == "witness_nudged"]


def test_a_finished_agents_session_stays_until_its_screen_reads_idle_twice(ledger, clock):
    sched, dispatcher, (agent,) = town(ledger, "claude")
    dispatcher.showing[agent] = screen("claude", "working-tool-1")
    tick(sched, dispatcher, clock)
    finish(ledger, agent)
    # Still inside the `gt done` tool call: its session must live to see the answer.
    for _ in range(3):
        tick(sched, dispatcher, clock)
    assert dispatcher.stopped == [] and agent in dispatcher.alive()
    dispatcher.showing[agent] = screen("claude", "idle-done-1")
    tick(sched, dispatcher, clock)
    assert dispatcher.stopped == []  # one idle reading is not idle
    tick(sched, dispatcher, clock)
    assert dispatcher.stopped == [agent]
    assert ledger.agents.require(agent)["status"] == vocab.AGENT_IDLE


def test_a_finished_agent_that_never_goes_idle_ends_after_the_grace_period(ledger, clock):
    sched, dispatcher, (agent,) = town(ledger, "codex")
    dispatcher.showing[agent] = screen("codex", "working-tool-1")
    finish(ledger, agent)
    tick(sched, dispatcher, clock, seconds=WITNESS.finish_grace_seconds - 10)
    assert dispatcher.stopped == []
    tick(sched, dispatcher, clock, seconds=10)
    assert dispatcher.stopped == [agent]


def test_a_runtime_without_screen_rules_stops_at_once_after_done(ledger, clock):
    sched, dispatcher, (agent,) = town(ledger, "script")
    finish(ledger, agent)
    tick(sched, dispatcher, clock)
    assert dispatcher.stopped == [agent]


def test_idle_at_its_prompt_with_work_is_nudged_within_two_ticks_not_while_working(ledger, clock):
    sched, dispatcher, (agent,) = town(ledger, "claude")
    started = ledger.now()
    dispatcher.showing[agent] = screen("claude", "working-tool-1")
    for _ in range(3):  # working: no nudge (15 s, far inside the stall window)
        tick(sched, dispatcher, clock)
    assert nudges(ledger) == []
    dispatcher.showing[agent] = screen("claude", "idle-done-1")
    tick(sched, dispatcher, clock)
    assert nudges(ledger) == []  # one reading
    tick(sched, dispatcher, clock)
    assert len(nudges(ledger)) == 1
    (queued,) = [i for i in ledger.inbox.pending() if i["kind"] == "nudge"]
    bead = ledger.agents.require(agent)["hook"]
    assert queued["payload"]["message"] == IDLE_NUDGE_TEXT.format(bead=bead)
    assert "gt done --status deferred" in queued["payload"]["message"]
    assert ledger.now() - started < WITNESS.stall_seconds  # long before the stall window


def test_an_idle_cli_that_keeps_idling_climbs_the_ladder(ledger, clock):
    sched, dispatcher, (agent,) = town(ledger, "gemini")
    dispatcher.showing[agent] = screen("gemini", "idle-done-1")
    tick(sched, dispatcher, clock)
    tick(sched, dispatcher, clock)
    assert len(nudges(ledger)) == 1
    # It takes the nudge (its screen works for a moment), says nothing to the town, and
    # sits at its prompt again: no fresh ladder, no second nudge...
    dispatcher.showing[agent] = screen("gemini", "working-tool-1")
    tick(sched, dispatcher, clock)
    dispatcher.showing[agent] = screen("gemini", "idle-done-1")
    for _ in range(int(WITNESS.ladder_seconds / 5) - 2):
        tick(sched, dispatcher, clock)
    assert len(nudges(ledger)) == 1
    # ...but the next rung once the ladder's wait is over: a restart on the same hook.
    tick(sched, dispatcher, clock, seconds=10)
    kinds = [e["kind"] for e in ledger.state.events_after(0)]
    assert "witness_restarted" in kinds and kinds.count("witness_nudged") == 1


class FakePane:
    """The tmux adapter's two calls a nudge makes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.typed: list[tuple[str, bool]] = []

    def capture(self, name: str, lines: int = 50) -> str:
        return self.text

    def send_literal(self, name: str, text: str, *, enter: bool = True) -> None:
        self.typed.append((text, enter))


@pytest.mark.parametrize(
    ("cli", "shown"),
    [
        ("claude", "working-tool-1"),
        ("codex", "working-tool-1"),
        ("gemini", "working-tool-1"),
        ("claude", "dialog-trust-1"),
        ("gemini", "needs_you-approval-1"),
    ],
)
def test_a_nudge_stays_queued_while_the_screen_says_not_now(cli: str, shown: str) -> None:
    pane = FakePane(screen(cli, shown))
    with pytest.raises(NotYet):
        session_io.nudge(pane, "web+a", "hi", runtime_name=cli, runtime=None, ready_at=0.0)  # type: ignore[arg-type]
    assert pane.typed == []
    pane.text = screen(cli, "idle-done-1")
    session_io.nudge(pane, "web+a", "hi", runtime_name=cli, runtime=None, ready_at=0.0)  # type: ignore[arg-type]
    assert pane.typed == [("hi", True)]


def test_a_runtime_without_screen_rules_is_nudged_as_before() -> None:
    pane = FakePane("anything at all\n$ ")
    session_io.nudge(pane, "web+a", "hi", runtime_name="script", runtime=None, ready_at=0.0)  # type: ignore[arg-type]
    assert pane.typed == [("hi", True)]
