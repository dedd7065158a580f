"""Nudge: a short message typed into an agent's session by the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from engine.ledger import Ledger

DEFAULT_TTL = 300.0  # seconds a queued nudge stays worth typing


class Nudge(NamedTuple):
    """Make it with `Nudge.of`, which refuses bad text before anything else happens."""

    agent: str  # name or id
    message: str
    ttl: float = DEFAULT_TTL

    @classmethod
    def of(cls, agent: str, message: str, ttl: float = DEFAULT_TTL) -> Nudge:
        return cls(agent, check_message(message), ttl)


def check_message(message: str) -> str:
    """Typed into the agent's pane: a control character would be a key press (Ctrl-C, ESC,
    Enter), not text."""
    from engine.safetext import check_typed

    return check_typed(message, "a nudge")


class NudgeQueued(NamedTuple):
    agent_id: str
    agent_name: str
    expires_at: float


def nudge(ledger: Ledger, request: Nudge, *, actor: str) -> NudgeQueued:
    """Queue the nudge in the engine's inbox; the engine types it while it is fresh."""
    check_message(request.message)  # however the request was made
    with ledger.transaction(durable=True):  # a queued nudge survives a crash
        agent = ledger.agents.require(request.agent)
        expires_at = ledger.now() + request.ttl
        ledger.inbox.put(
            "nudge",
            {"agent_id": agent["id"], "message": request.message, "expires_at": expires_at},
            actor=actor,
        )
    return NudgeQueued(agent["id"], agent["name"], expires_at)
