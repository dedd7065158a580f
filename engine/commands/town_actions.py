"""The town itself: create one (`gt init`), resume dispatch after the breaker tripped."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger


class TownCreated(NamedTuple):
    root: str  # absolute path
    name: str
    ledger: str  # "ledger.db", or the PostgreSQL URL without its password
    rigs: list[str]  # the rigs a shared ledger already had (this town joins them)


def init(path: str, *, ledger_url: str | None = None) -> TownCreated:
    """Create a town at PATH: town.toml, the ledger, logs/ and rigs/. Refuses to clobber a
    town or a ledger already there (engine/town.py holds the layout). With `ledger_url`
    the ledger is on PostgreSQL: created in an empty database, joined in a town's one."""
    from engine.town import init_town

    town = init_town(path, ledger_url=ledger_url)
    if ledger_url:
        from engine.ledger.pg_db import redact

        with town.open_ledger() as ledger:
            rigs = [r["name"] for r in ledger.rigs.list()]
        return TownCreated(town.root, town.name(), redact(ledger_url), rigs)
    return TownCreated(town.root, town.name(), "ledger.db", [])


def reset_breaker(ledger: Ledger, config: TownConfig, *, actor: str) -> None:
    """Close the dispatch circuit breaker by hand: dispatch resumes at the next reconcile."""
    from engine.scheduler.breaker import Breaker

    with ledger.transaction():
        Breaker(ledger, config.scheduler).reset(actor=actor)
