"""Agent checks, every reconcile: a working agent whose session died is recovered (its
attempt fails, with its last words as the reason); idle agents hold no session and retire
when idle too long; a zombie with nothing on its hook is idle again; orphan sessions stop.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine import vocab

if TYPE_CHECKING:
    from engine.polecats.dispatcher import Dispatcher
    from engine.records import Agent
    from engine.scheduler.reconciler import Scheduler

log = logging.getLogger("gastown.scheduler")

# How much of a dead session's log becomes the failure's reason.
LAST_WORDS_LINES = 3
LAST_WORDS_CHARS = 300


def check_agents(scheduler: Scheduler, dispatcher: Dispatcher, alive: set[str] | None) -> list[str]:
    """Dead sessions of working agents are recovered; idle agents hold no session."""
    recovered: list[Any] = []  # hooks (str): check_agent recovers hooked agents only
    now = scheduler.ledger.now()
    live_ids = set()
    parked = scheduler.parking.all()
    for agent in scheduler.ledger.agents.list():
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
        reason = "the agent's session ended before it finished"
        words = last_words(dispatcher, agent)
        if words:
            reason += f"; its last output: {words}"
        out = scheduler.fail(hook, agent["attempt"], reason=reason, kind="agent_died")
        return out is not None
    if not hook and status == vocab.AGENT_IDLE:
        if alive and agent["id"] in alive:
            dispatcher.stop(agent["id"])
        idle_for = now - (agent["idle_since"] or now)
        if idle_for >= scheduler.settings.idle_retire_seconds:
            with ledger.transaction():
                ledger.agents.retire(agent["id"], reason="idle")
            dispatcher.on_retire(agent)
    elif not hook and status == vocab.AGENT_ZOMBIE:
        with ledger.transaction():
            ledger.agents.set_status(agent["id"], vocab.AGENT_IDLE, reason="recovered")
    return False


def last_words(dispatcher: Dispatcher, agent: Agent) -> str | None:
    """The last lines a dead session printed (its log file), as one line: the reason an
    attempt failed is usually there, not in "the session ended"."""
    from engine.polecats import seance
    from engine.safetext import clip, plain

    # Only dispatchers with session logs (the tmux fleet) have one to read.
    path = dispatcher.session_log(agent)
    if not path:
        return None
    try:
        lines = seance.tail(path, 40)
    except OSError:
        return None
    # A pane log is the terminal's raw bytes: escape sequences and carriage returns go.
    said = [t for t in (plain(ln).strip() for ln in lines) if t and not t.startswith("--- ")]
    if not said:
        return None
    return clip(" | ".join(said[-LAST_WORDS_LINES:]), LAST_WORDS_CHARS)
