"""The engine's collection of token usage: every reconcile, each agent's CLI transcripts as
the dispatcher reads them (`Dispatcher.usage`), stored when they changed.

Cheap by design: the fleet's reader re-parses a home only when a transcript's size or
mtime moved, and the ledger is written only for an agent whose figures changed. Which bead
a session worked comes from when it started (engine/usage/attribution.py), not from when it
is collected: a session first read after `gt done`, or after the agent took its next bead,
still lands on its own bead, and one stored with none gets it at its next reading."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine.commands.costs import RecordUsage, record_usage

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.polecats.dispatcher import Dispatcher
    from engine.usage import SessionUsage

log = logging.getLogger("gastown.usage")


class UsageCollector:
    def __init__(self) -> None:
        self._last: dict[str, list[SessionUsage]] = {}

    def collect(self, ledger: Ledger, dispatcher: Dispatcher, host: str | None = None) -> int:
        """Store what changed since the last look; returns the ledger rows that changed.
        `host`: only its agents (their CLIs' transcripts are on its machine)."""
        changed = 0
        for agent in ledger.agents.list(host=host):
            try:
                sessions = dispatcher.usage(agent)
            except Exception:  # one unreadable home must not stop the others
                log.exception("could not read the token usage of %s", agent["id"])
                continue
            if not sessions or self._last.get(agent["id"]) == sessions:
                continue
            changed += record_usage(ledger, RecordUsage(agent["id"], tuple(sessions)))
            self._last[agent["id"]] = sessions
        return changed
