"""Run the deacon's patrols now, by hand (`gt patrol run [NAME...]`), whatever their
schedule: the same steps the engine's loop runs (engine/deacon/rounds.py), on the
caller's thread. Each change a patrol makes is its own transaction, as in the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from engine.errors import NotFound

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.deacon.patrol import Finding
    from engine.ledger import Ledger
    from engine.town import Town


class PatrolsRun(NamedTuple):
    findings: dict[str, list[Finding]]  # by patrol, for each patrol that ran
    failed: list[str]  # patrols whose run raised (`gt patrol list` shows why)


def run_patrols(
    ledger: Ledger, config: TownConfig, town: Town, names: list[str] | None = None
) -> PatrolsRun:
    from engine.deacon import rounds
    from engine.deacon.patrol import PatrolContext

    known = [p.name for p in rounds.patrols()]
    for name in names or []:
        if name not in known:
            raise NotFound(f"no patrol named {name!r} (known: {', '.join(sorted(known))})")
    chosen = names or known
    ctx = PatrolContext(ledger, config, town, ledger.now())
    ran = rounds.run_here(ctx, force=True, only=chosen)
    return PatrolsRun(ran, [n for n in chosen if n not in ran])
