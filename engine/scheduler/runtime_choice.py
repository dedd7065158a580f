"""Which runtime works a bead, and which idle polecat may take it.

A bead may name its runtime (`gt sling --runtime`, a plan's `runtime`); else its rig's
(`[rigs.NAME] runtime`), else the town's default. So one rig can run claude and codex beads
side by side. A polecat keeps its runtime while the town still uses it: an idle polecat is
reused for a bead of its own runtime only, and a bead whose runtime has no idle polecat in
the rig gets a new one. An idle polecat whose runtime nothing uses any more (town.toml
changed, the beads that named it are done) is reused for whatever comes, running the new
runtime — it would otherwise sit idle for good.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection

    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.records import Agent


def runtime_of(config: TownConfig, rig: str, named: str | None) -> str:
    """The runtime that works a bead of `rig` naming `named` (or None)."""
    return named or config.runtime_for(rig)


def runtimes_in_use(ledger: Ledger, config: TownConfig) -> frozenset[str]:
    """Runtimes new work may still ask for: the town's default, each rig's, and those
    named by beads that are not final."""
    rigs = {r["name"] for r in ledger.rigs.list()} | set(config.rigs)
    return frozenset(
        {config.runtime.default, *(config.runtime_for(rig) for rig in rigs)}
        | ledger.beads.runtimes_named()
    )


class IdlePolecats:
    """The idle polecat a bead of (rig, runtime) may take, within one scheduling pass; what
    is in use is read once, and only when some bead finds no polecat of its own runtime."""

    def __init__(self, ledger: Ledger, config: TownConfig, host: str | None = None) -> None:
        self.ledger = ledger
        self.config = config
        self.host = host  # a host's engine reuses its own polecats only
        self._in_use: Collection[str] | None = None

    def for_bead(self, rig: str, runtime: str) -> Agent | None:
        agents = self.ledger.agents
        same = agents.idle_in_rig(rig, runtime, host=self.host)
        if same is not None:
            return same
        if self._in_use is None:
            self._in_use = runtimes_in_use(self.ledger, self.config)
        return agents.idle_in_rig(rig, not_runtimes=self._in_use, host=self.host)
