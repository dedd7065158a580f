"""The witness: the health of every polecat from real signals, and the recovery ladder.

Signals: the session is alive (tmux), its output is growing (the session log), it sends
heartbeats or other `gt` calls, it commits (the worktree's reflog moves). Labels:
working, stalled (no progress for `stall_seconds`), gupp (hooked but no progress for
`gupp_seconds` — GUPP says work on your hook runs), zombie (session gone), idle.

The ladder for an agent making no progress: nudge it, then restart its session (same hook,
fresh context), then kill it and re-dispatch the bead with the next attempt, keeping the
old worktree's work committed on its branch. Each rung waits longer than the last; the
ladder's position lives in the ledger so a restart of the engine does not reset it.

The witness only judges: `patrol` returns verdicts (typed, one per decision) and the
scheduler acts on them, so the witness never needs the scheduler.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.policy import ladder_wait

if TYPE_CHECKING:
    from engine.config import WitnessSettings
    from engine.ledger import Ledger
    from engine.polecats.dispatcher import Dispatcher
    from engine.records import Agent

log = logging.getLogger("gastown.witness")

ECHO_GRACE = 1.5
NUDGE_TEXT = (
    "Gas Town witness: you have work on your hook ({bead}). Keep going, or run "
    "`gt done` when finished / `gt escalate` if stuck."
)


@dataclass(frozen=True)
class HealthChanged:
    """The agent's label changed (working again, stalled, gupp): record it. `info` is
    merged into the agent's info (a working agent's ladder is reset)."""

    agent: Agent
    health: str
    info: dict[str, Any] | None = None


@dataclass(frozen=True)
class NudgeDue:
    """First rung: type a reminder into the agent's session, and remember the rung."""

    agent: Agent
    message: str
    expires_at: float
    step: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RestartDue:
    """Second rung: restart the session on the same hook with a fresh context."""

    agent: Agent
    restarts: int
    step: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RedispatchDue:
    """Last rung: keep its work, kill the session, fail this attempt (the next one is
    dispatched with the bead's backoff)."""

    agent: Agent
    reason: str


Verdict = HealthChanged | NudgeDue | RestartDue | RedispatchDue


class Witness:
    def __init__(self, ledger: Ledger, settings: WitnessSettings, dispatcher: Dispatcher) -> None:
        self.ledger = ledger
        self.settings = settings
        self.dispatcher = dispatcher

    def progress_at(self, agent: Agent) -> float:
        marks = [
            agent.get("last_heartbeat") or 0.0,
            agent.get("last_activity") or 0.0,
            self.dispatcher.progress_marker(agent) or 0.0,
        ]
        return max(marks)

    def label(
        self,
        agent: Agent,
        alive: set[str] | None,
        now: float,
        since: float | None = None,
        before: float | None = None,
    ) -> str:
        if not agent["hook"]:
            return vocab.AGENT_IDLE
        if alive is not None and agent["id"] not in alive:
            return vocab.AGENT_ZOMBIE
        progress = self.progress_at(agent)
        if since is not None and before is not None and progress < since + ECHO_GRACE:
            # Output right after our own nudge is the nudge's echo, not progress.
            progress = before
        quiet = now - progress
        if quiet >= self.settings.gupp_seconds:
            return vocab.AGENT_GUPP
        if quiet >= self.settings.stall_seconds:
            return vocab.AGENT_STALLED
        return vocab.AGENT_WORKING

    def patrol(self, alive: set[str] | None) -> list[Verdict]:
        """Label every working agent; climb the ladder for those making no progress.

        Writes nothing: the verdicts, in order, are for the scheduler to act on."""
        now = self.ledger.now()
        verdicts: list[Verdict] = []
        for agent in self.ledger.agents.list():
            if agent["status"] not in (vocab.AGENT_WORKING, vocab.AGENT_STALLED, vocab.AGENT_GUPP):
                continue
            ladder = agent["info"].get("ladder") or {}
            health = self.label(
                agent, alive, now, since=ladder.get("at"), before=ladder.get("progress")
            )
            if health == vocab.AGENT_ZOMBIE:
                continue  # the scheduler recovers dead sessions
            if health == vocab.AGENT_WORKING:
                if agent["status"] != vocab.AGENT_WORKING or ladder:
                    verdicts.append(HealthChanged(agent, vocab.AGENT_WORKING, {"ladder": {}}))
                continue
            if agent["status"] != health:
                verdicts.append(HealthChanged(agent, health))
            rung = int(ladder.get("rung", 0))
            if ladder.get("attempt") != agent["attempt"]:
                rung = 0
            last = float(ladder.get("at", 0.0))
            if rung and now - last < ladder_wait(self.settings.ladder_seconds, rung):
                continue
            verdicts.append(self.climb(agent, rung, now))
        return verdicts

    def climb(self, agent: Agent, rung: int, now: float) -> Verdict:
        step = {
            "attempt": agent["attempt"],
            "rung": rung + 1,
            "at": now,
            "progress": self.progress_at(agent),
        }
        if rung == 0:
            return NudgeDue(
                agent,
                message=NUDGE_TEXT.format(bead=agent["hook"]),
                expires_at=now + self.settings.ladder_seconds,
                step=step,
            )
        restarts = int(agent["info"].get("restarts", 0))
        if rung == 1 and restarts < self.settings.max_restarts:
            return RestartDue(agent, restarts=restarts + 1, step=step)
        return RedispatchDue(
            agent,
            reason=(
                f"{agent['name']} made no progress for {int(now - self.progress_at(agent))}s "
                f"(nudged and restarted)"
            ),
        )
