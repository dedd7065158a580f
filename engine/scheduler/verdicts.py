"""The scheduler's side of the witness: carrying out its verdicts.

The witness (engine.polecats.witness) judges each working agent and returns what should
happen; the scheduler owns every write and every call to the dispatcher, so the witness
never needs the scheduler and there is no import circle.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine import vocab
from engine.escalations import escalate
from engine.polecats.witness import (
    Crashed,
    DialogDue,
    HealthChanged,
    NeedsYou,
    NudgeDue,
    RateLimited,
    RestartDue,
    ScreenSeen,
    SessionFinished,
)
from engine.scheduler.runtime_pauses import limited

if TYPE_CHECKING:
    from engine.polecats.dispatcher import Dispatcher
    from engine.polecats.witness import Verdict
    from engine.scheduler.reconciler import Scheduler

log = logging.getLogger("gastown.scheduler")


def act_on(scheduler: Scheduler, verdict: Verdict, dispatcher: Dispatcher) -> None:
    """Carry out one of the witness's verdicts."""
    agents = scheduler.ledger.agents
    agent = verdict.agent
    if isinstance(verdict, HealthChanged):
        agents.set_health(agent["id"], verdict.health, info=verdict.info)
        if verdict.health != vocab.AGENT_WORKING:
            log.warning("%s is %s on %s", agent["name"], verdict.health, agent["hook"])
    elif isinstance(verdict, NudgeDue):
        scheduler.ledger.inbox.put(
            "nudge",
            {
                "agent_id": agent["id"],
                "message": verdict.message,
                "expires_at": verdict.expires_at,
            },
            actor="witness",
        )
        agents.set_health(
            agent["id"],
            vocab.AGENT_STALLED,
            info={"ladder": verdict.step},
            event="witness_nudged",
        )
    elif isinstance(verdict, RestartDue):
        agents.set_health(
            agent["id"],
            vocab.AGENT_HANDOFF,
            event="witness_restarted",
            info={"ladder": verdict.step, "restarts": verdict.restarts},
        )
    elif isinstance(verdict, RateLimited):
        limited(scheduler, agent, dispatcher, until=verdict.until, text=verdict.text)
    elif isinstance(verdict, SessionFinished):
        # `gt done` answered, the CLI back at its prompt: nothing more will come from it.
        log.info("%s finished and its CLI is idle: ending its session", agent["name"])
        dispatcher.stop(agent["id"])
    elif isinstance(verdict, ScreenSeen):
        agents.set_health(agent["id"], agent["status"], info={"screen": verdict.screen})
    elif isinstance(verdict, DialogDue):
        answer_dialog(scheduler, verdict, dispatcher)
    elif isinstance(verdict, NeedsYou):
        needs_you(scheduler, verdict)
    elif isinstance(verdict, Crashed):
        gave_up(scheduler, verdict, dispatcher)
    else:  # RedispatchDue: kill it (and make sure it is dead), then retry with backoff
        dispatcher.preserve_work(agent)
        dispatcher.stop(agent["id"])
        scheduler.fail(
            agent["hook"],  # type: ignore[arg-type]  # the witness judges hooked agents only
            agent["attempt"],
            reason=verdict.reason,
            kind="agent_stalled_out",
        )


def answer_dialog(scheduler: Scheduler, verdict: DialogDue, dispatcher: Dispatcher) -> None:
    """Type a known dialog's answer (its rule's keys, never anything else), and say so."""
    agent = verdict.agent
    dispatcher.send_keys(agent, verdict.keys)
    with scheduler.ledger.transaction():
        scheduler.ledger.agents.set_health(
            agent["id"], agent["status"], info={"screen": verdict.screen}
        )
        scheduler.ledger.state.record_event(
            "dialog_answered",
            bead_id=agent["hook"],
            actor="witness",
            data={"agent": agent["name"], "dialog": verdict.dialog, "keys": list(verdict.keys)},
        )
    log.info("answered the %s dialog of %s with %s", verdict.dialog, agent["name"], verdict.keys)


def gave_up(scheduler: Scheduler, verdict: Crashed, dispatcher: Dispatcher) -> None:
    """The CLI gave up but sits at its prompt: end its session (keeping its work) and fail
    the attempt with the CLI's own words, as for a session that died."""
    agent = verdict.agent
    log.warning(
        "%s's CLI gave up on %s; its screen ends with:\n%s", agent["name"], agent["hook"],
        verdict.text,
    )  # fmt: skip
    dispatcher.preserve_work(agent)
    dispatcher.stop(agent["id"])
    scheduler.fail(
        agent["hook"],  # type: ignore[arg-type]  # the witness judges hooked agents only
        agent["attempt"],
        reason=f"the agent's CLI gave up; its last output: {verdict.line}",
        kind="agent_died",
    )


def needs_you(scheduler: Scheduler, verdict: NeedsYou) -> None:
    """Hold the agent (stalled, never nudged while its screen waits) and tell the mayor:
    what the screen shows and how to look at it."""
    agent = verdict.agent
    hook = agent["hook"]
    with scheduler.ledger.transaction(durable=True):
        scheduler.ledger.agents.set_health(
            agent["id"],
            vocab.AGENT_STALLED,
            info={"screen": verdict.screen},
            event="agent_needs_you",
        )
        escalate(
            scheduler.ledger,
            title=f"{agent['name']} needs you: {verdict.why}",
            body=(
                f"{agent['name']} ({agent['rig']}) on {hook}: {verdict.why}. The town does not "
                f"answer what it does not know. Its screen ends with:\n\n{verdict.text}\n\n"
                f"Look with `gt attach {agent['name']}`; once it goes on by itself the witness "
                f"takes it back."
            ),
            severity="high",
            actor="witness",
            source=hook,
            cause=f"needs-you:{agent['id']}:{hook}",
            routes=scheduler.config.escalation,
        )
    log.warning("%s needs you on %s: %s", agent["name"], hook, verdict.why)
