"""Session tokens: the proof that a `gt` call comes from the agent it names.

An agent's `gt` calls are trusted as that agent only with the token of its current
dispatch, which the fleet puts in the session's environment. The ledger keeps its
SHA-256 alone: reading the ledger does not yield a token that works.

Plain functions the AgentStore delegates to; callers use ``ledger.agents``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from engine.errors import Conflict

if TYPE_CHECKING:
    from engine.ledger.agents import AgentStore
    from engine.records import Agent

# The state key under which the ledger keeps an agent's token hash.
TOKEN_KEY = "agent_token:"


def issue_token(agents: AgentStore, ident: str, attempt: int) -> str:
    """A fresh token for the agent's new session; any earlier one stops working."""
    token = secrets.token_urlsafe(32)
    with agents.db.write(durable=True):
        # durable: a session must never hold a token the ledger lost in a crash
        agents.ledger.state.put(
            TOKEN_KEY + ident, {"attempt": attempt, "sha256": token_hash(token)}
        )
    return token


def authenticate(agents: AgentStore, ident: str, token: str | None) -> Agent:
    """The agent `ident`, if `token` is its session's; refused otherwise, with no effect.

    An agent the ledger holds no token for was never started in a session by this
    ledger's fleet (a test dispatcher, a session from before tokens existed): there is
    nothing to check it against, so it is taken as named.
    """
    agent = agents.require(ident)
    stored = agents.ledger.state.get(TOKEN_KEY + agent["id"])
    if stored is None:
        return agent
    if not token:
        raise Conflict(
            f"acting as {agent['name']} needs its session token ($GT_AGENT_TOKEN): "
            "run this inside the agent's own session; nothing was changed"
        )
    if not hmac.compare_digest(token_hash(token), str(stored.get("sha256", ""))):
        raise Conflict(
            f"the session token is not {agent['name']}'s current one "
            "(an agent acts only as itself); nothing was changed"
        )
    return agent


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
