"""What a command needs, opened on first use: the town, its ledger, its config."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

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

    @property
    def town(self) -> Town:
        if self._town is None:
            from engine.town import find_town

            self._town = find_town(getattr(self.args, "town", None))
        return self._town

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            from engine.ledger import Ledger

            self._ledger = Ledger(self.town.ledger_path)
        return self._ledger

    @property
    def config(self) -> TownConfig:
        if self._config is None:
            self._config = self.town.config()
        return self._config

    @property
    def actor(self) -> str:
        """Who is acting: the agent from its environment, else the human operator."""
        return os.environ.get("GT_AGENT_ID") or os.environ.get("GT_AGENT") or "mayor"

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()

    def check_fence(self, bead: str | None = None, attempt: int | None = None) -> None:
        """An agent's call from a stale attempt (a zombie session) is refused, no effect."""
        bead = bead or os.environ.get("GT_BEAD")
        raw = str(attempt) if attempt is not None else os.environ.get("GT_ATTEMPT")
        if not (bead and raw and raw.isdigit()):
            return
        from engine.errors import Conflict

        current = self.ledger.beads.get(bead)
        if current is None or int(current["attempt"]) != int(raw):
            raise Conflict(
                f"stale attempt {raw} for {bead} (the current attempt is "
                f"{current['attempt'] if current else '?'}); nothing was changed"
            )
