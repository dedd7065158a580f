"""The witness: the health of every polecat from real signals, and the recovery ladder.

Signals: the session is alive (tmux), its output is growing (the session log), it sends
heartbeats or other `gt` calls, it commits (the worktree's reflog moves). Labels:
working, stalled (no progress for `stall_seconds`), gupp (hooked but no progress for
`gupp_seconds` — GUPP says work on your hook runs), zombie (session gone), idle.

The ladder for an agent making no progress: nudge it, then restart its session (same hook,
fresh context), then kill it and re-dispatch the bead with the next attempt, keeping the
old worktree's work committed on its branch. Each rung waits longer than the last; the
ladder's position lives in the ledger so a restart of the engine does not reset it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine import vocab

if TYPE_CHECKING:
    from engine.config import WitnessSettings
    from engine.ledger import Ledger
    from engine.scheduler.reconciler import Scheduler

log = logging.getLogger("gastown.witness")

ECHO_GRACE = 1.5
NUDGE_TEXT = (
    "Gas Town witness: you have work on your hook ({bead}). Keep going, or run "
    "`gt done` when finished / `gt escalate` if stuck."
)


class Witness:
    def __init__(
        self, ledger: Ledger, scheduler: Scheduler, settings: WitnessSettings, dispatcher: Any
    ) -> None:
        self.ledger = ledger
        self.scheduler = scheduler
        self.settings = settings
        self.dispatcher = dispatcher

    def progress_at(self, agent: dict[str, Any]) -> float:
        marks = [agent.get("last_heartbeat") or 0.0, agent.get("last_activity") or 0.0]
        probe = getattr(self.dispatcher, "progress_marker", None)
        if probe:
            marks.append(probe(agent) or 0.0)
        return max(marks)

    def label(
        self,
        agent: dict[str, Any],
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

    def patrol(self, alive: set[str] | None) -> list[str]:
        """Label every working agent; climb the ladder for those making no progress."""
        now = self.ledger.now()
        acted = []
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
                    self.ledger.agents.set_health(
                        agent["id"], vocab.AGENT_WORKING, info={"ladder": {}}
                    )
                continue
            if agent["status"] != health:
                self.ledger.agents.set_health(agent["id"], health)
                log.warning("%s is %s on %s", agent["name"], health, agent["hook"])
            rung = int(ladder.get("rung", 0))
            if ladder.get("attempt") != agent["attempt"]:
                rung = 0
            last = float(ladder.get("at", 0.0))
            wait = self.settings.ladder_seconds * (2 ** max(rung - 1, 0))
            if rung and now - last < wait:
                continue
            acted.append(self.climb(agent, rung, now))
        return acted

    def climb(self, agent: dict[str, Any], rung: int, now: float) -> str:
        bead = agent["hook"]
        step = {
            "attempt": agent["attempt"],
            "rung": rung + 1,
            "at": now,
            "progress": self.progress_at(agent),
        }
        if rung == 0:
            self.ledger.inbox.put(
                "nudge",
                {
                    "agent_id": agent["id"],
                    "message": NUDGE_TEXT.format(bead=bead),
                    "expires_at": now + self.settings.ladder_seconds,
                },
                actor="witness",
            )
            self.ledger.agents.set_health(
                agent["id"], vocab.AGENT_STALLED, info={"ladder": step}, event="witness_nudged"
            )
            return f"nudged {agent['name']}"
        if rung == 1 and agent["info"].get("restarts", 0) < self.settings.max_restarts:
            self.ledger.agents.set_health(
                agent["id"],
                vocab.AGENT_HANDOFF,
                event="witness_restarted",
                info={"ladder": step, "restarts": agent["info"].get("restarts", 0) + 1},
            )
            return f"restarting {agent['name']}"
        # last rung: kill it (and make sure it is dead), then re-dispatch with attempt+1
        preserve = getattr(self.dispatcher, "preserve_work", None)
        if preserve:
            preserve(agent)
        self.dispatcher.stop(agent["id"])
        self.scheduler.fail(
            bead,
            agent["attempt"],
            reason=(
                f"{agent['name']} made no progress for {int(now - self.progress_at(agent))}s "
                f"(nudged and restarted)"
            ),
            kind="agent_stalled_out",
        )
        return f"re-dispatching {bead}"
