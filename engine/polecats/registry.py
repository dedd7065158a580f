"""Which dispatcher a town uses (town.toml `[engine] dispatcher`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import GtError

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.polecats.dispatcher import Dispatcher
    from engine.town import Town

DISPATCHERS = ("tmux",)


def make_dispatcher(town: Town, config: TownConfig, ledger: Ledger) -> Dispatcher:
    name = config.engine.dispatcher
    if name == "tmux":
        from engine.polecats.fleet import TmuxFleet

        return TmuxFleet(town, config, ledger)
    raise GtError(
        f"town.toml: unknown [engine] dispatcher {name!r} (one of {', '.join(DISPATCHERS)})"
    )
