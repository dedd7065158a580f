"""The scheduler's side of the witness: carrying out its verdicts.

The witness (engine.polecats.witness) judges each working agent and returns what should
happen; the scheduler owns every write and every call to the dispatcher, so the witness
never needs the scheduler and there is no import circle.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine import vocab
from engine.polecats.witness import HealthChanged, NudgeDue, RestartDue

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
    else:  # RedispatchDue: kill it (and make sure it is dead), then retry with backoff
        dispatcher.preserve_work(agent)
        dispatcher.stop(agent["id"])
        scheduler.fail(
            agent["hook"],  # type: ignore[arg-type]  # the witness judges hooked agents only
            agent["attempt"],
            reason=verdict.reason,
            kind="agent_stalled_out",
        )
