"""Agent checks, every reconcile: a working agent whose session died is recovered (its
attempt fails, with its last words as the reason; or, when those words are a rate or
usage limit, its runtime pauses and the bead waits without spending an attempt); idle
agents hold no session once finished (the deacon retires them when idle too long,
engine/deacon/reaper.py); a zombie with nothing
on its hook is idle again; orphan sessions stop.

Finished: right after `gt done` writes, the CLI is still inside that tool call; ending its
session then would cut it off before it sees gt done's answer (and seance would lose its
last words). A runtime whose screen the witness reads (engine.polecats.screens) keeps its
session until the witness reads it idle twice (SessionFinished) or `finish_grace_seconds`
pass; a runtime without screen rules (`script`, custom ones) cannot say, and stops at once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.polecats.screens import RULES
from engine.policy import limit_seen
from engine.safetext import clip, visible
from engine.scheduler.runtime_pauses import limited

if TYPE_CHECKING:
    from engine.polecats.dispatcher import Dispatcher
    from engine.records import Agent
    from engine.scheduler.reconciler import Scheduler

log = logging.getLogger("gastown.scheduler")

# How much of a dead session's log becomes the failure's reason.
LAST_WORDS_LINES = 3
LAST_WORDS_CHARS = 300
# How many of them the engine log keeps.
LOGGED_LINES = 10


def check_agents(scheduler: Scheduler, dispatcher: Dispatcher, alive: set[str] | None) -> list[str]:
    """Dead sessions of working agents are recovered; idle agents hold no session."""
    recovered: list[Any] = []  # hooks (str): check_agent recovers hooked agents only
    now = scheduler.ledger.now()
    live_ids = set()
    parked = scheduler.parking.all()
    for agent in scheduler.ledger.agents.list(host=scheduler.host):
        live_ids.add(agent["id"])
        if agent["hook"] and agent["hook"] in parked:
            continue  # a parked bead waits for a person, and so does its agent
        try:
            if check_agent(scheduler, agent, dispatcher, alive, now):
                recovered.append(agent["hook"])
        except Exception as exc:
            if agent["hook"]:
                scheduler.park(agent["hook"], exc, stage=f"checking its agent {agent['name']}")
            else:
                log.exception("checking agent %s failed; the reconcile goes on", agent["id"])
    if alive:
        for orphan in alive - live_ids:
            dispatcher.stop(orphan)
    return recovered


def check_agent(
    scheduler: Scheduler,
    agent: Agent,
    dispatcher: Dispatcher,
    alive: set[str] | None,
    now: float,
) -> bool:
    """One agent's check; True when its dead session's bead was recovered."""
    ledger = scheduler.ledger
    status, hook = agent["status"], agent["hook"]
    if (
        hook
        and status in (vocab.AGENT_WORKING, vocab.AGENT_STALLED, vocab.AGENT_GUPP)
        and alive is not None
        and agent["id"] not in alive
    ):
        with ledger.transaction():
            ledger.agents.set_status(agent["id"], vocab.AGENT_ZOMBIE, reason="session gone")
        words = dispatcher.last_words(agent)
        limit = limit_seen(words, now) if words else None
        if limit is not None:
            # Its account hit a limit (codex exits on one): not the bead's fault nor the
            # town's; the runtime pauses and the bead waits without spending an attempt.
            return limited(scheduler, agent, dispatcher, until=limit.until, text=limit.line)
        reason = "the agent's session ended before it finished"
        if words:
            reason += f"; its last output: {summary(words)}"
            log.warning(
                "%s's session died on %s; its last lines:\n%s",
                agent["name"],
                hook,
                "\n".join(visible(ln) for ln in words.splitlines()[-LOGGED_LINES:]),
            )
        out = scheduler.fail(hook, agent["attempt"], reason=reason, kind="agent_died")
        return out is not None
    if not hook and status == vocab.AGENT_IDLE:
        if alive and agent["id"] in alive and not finishing(scheduler, agent, now):
            dispatcher.stop(agent["id"])
        # retiring it once idle too long is the deacon's (engine/deacon/reaper.py)
    elif not hook and status == vocab.AGENT_ZOMBIE:
        with ledger.transaction():
            ledger.agents.set_status(agent["id"], vocab.AGENT_IDLE, reason="recovered")
    return False


def finishing(scheduler: Scheduler, agent: Agent, now: float) -> bool:
    """A finished agent whose CLI may still be answering (see above): its session stays
    until the witness reads it idle, within the grace period."""
    if (agent.get("runtime") or "") not in RULES:
        return False
    idle_for = now - (agent["idle_since"] or now)
    return idle_for < scheduler.config.witness.finish_grace_seconds


def summary(words: str) -> str:
    """A dead session's last lines as one clipped line, for a failure's reason."""
    said = [visible(ln) for ln in words.splitlines() if ln.strip()]
    return clip(" | ".join(said[-LAST_WORDS_LINES:]), LAST_WORDS_CHARS)
