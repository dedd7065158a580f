"""What a command needs, opened on first use: the town, its ledger, its config."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from engine.errors import UsageError

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.town import Town


class Context:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._town: Town | None = None
        self._ledger: Ledger | None = None
        self._config: TownConfig | None = None
        self._actor: str | None = None

    @property
    def town(self) -> Town:
        if self._town is None:
            from engine.town import find_town

            self._town = find_town(getattr(self.args, "town", None))
        return self._town

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = self.town.open_ledger()
        return self._ledger

    @property
    def config(self) -> TownConfig:
        if self._config is None:
            self._config = self.town.config()
        return self._config

    @property
    def actor(self) -> str:
        """Who is acting: the session's agent (checked against its token), else the human
        operator."""
        if self._actor is None:
            self._actor = self.agent_identity() or "mayor"
        return self._actor

    def agent_identity(self, claimed: str | None = None) -> str | None:
        """The agent this command acts as, checked by the ledger; None for a person.

        Inside an agent session (GT_ROLE/GT_AGENT/GT_AGENT_ID set) the identity is the
        session's own: `--agent` may only name it. Whoever acts as an agent — in a session
        or from a terminal with `--agent` — must hold that agent's current session token
        ($GT_AGENT_TOKEN). A person without any of this acts as the mayor.
        """
        env = os.environ
        session = env.get("GT_AGENT_ID") or env.get("GT_AGENT") or None
        if env.get("GT_ROLE") == "mayor" and session is None:
            # The mayor's session (engine/mayor/) acts as the mayor, as the person does: it
            # holds no agent token, and a polecat's session always has its GT_AGENT_ID.
            if claimed:
                raise UsageError(f"this is the mayor's session: it cannot act as {claimed}")
            return None
        in_session = bool(session or env.get("GT_ROLE"))
        if in_session:
            if session is None:
                raise UsageError("this agent session has no $GT_AGENT_ID; nothing was changed")
            if claimed and not self._same_agent(claimed, session):
                raise UsageError(
                    f"this is {session}'s session: --agent {claimed} names another agent "
                    "(an agent acts only as itself)"
                )
            ident = session
        elif claimed:
            ident = claimed
        else:
            return None
        agent = self.ledger.agents.authenticate(ident, env.get("GT_AGENT_TOKEN"))
        return str(agent["id"])

    def _same_agent(self, a: str, b: str) -> bool:
        if a == b:
            return True
        found_a, found_b = self.ledger.agents.get(a), self.ledger.agents.get(b)
        return found_a is not None and found_b is not None and found_a["id"] == found_b["id"]

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()

    def check_fence(self, bead: str | None = None, attempt: int | None = None) -> None:
        """An agent's call from a stale attempt (a zombie session) is refused, no effect."""
        bead = bead or os.environ.get("GT_BEAD")
        raw = str(attempt) if attempt is not None else os.environ.get("GT_ATTEMPT")
        if not (bead and raw and raw.isdigit()):
            return
        # the ledger's own fence, the one every fenced write goes through (one rule, one text)
        self.ledger.agents.fence(bead, int(raw))
