"""The shape every patrol has, and what it is handed.

A patrol runs in three steps, each on the thread it belongs to (engine/engine.py):

- `look(ctx)` on the ledger's thread: read what to check (no git, no tmux);
- `work(ctx, looked)` on the adapters' thread: git and files only — `ctx.ledger` must not
  be touched there (the default passes `looked` on unchanged);
- `act(ctx, worked)` on the ledger's thread: write through the stores and commands, each
  change in its own transaction, and return the findings a person reads.

A patrol holds no state of its own between runs: what it must remember (a convoy already
reported) it keeps in the ledger, so a restarted engine carries on where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.deacon.settings import DeaconSettings
    from engine.ledger import Ledger
    from engine.polecats.dispatcher import Dispatcher
    from engine.town import Town


class Finding(NamedTuple):
    """One thing a patrol found (and what it did about it), for `gt status` and the app."""

    subject: str  # a bead, convoy, agent or file the finding is about
    text: str  # one line for a person; built from ledger values, never raw agent output
    # a person should act (the Problems tab lists it); False: done and said, nothing to do
    problem: bool = False


@dataclass(frozen=True)
class PatrolContext:
    ledger: Ledger
    config: TownConfig
    town: Town
    now: float  # the ledger's clock, read once per round
    dispatcher: Dispatcher | None = None  # None when no engine runs (gt patrol run)
    host: str | None = None  # the engine's host, of several sharing the ledger (None: alone)

    @property
    def settings(self) -> DeaconSettings:
        return self.config.deacon


class Patrol:
    name: ClassVar[str]
    title: ClassVar[str]  # what it patrols, for a person: "stranded convoys"

    def interval(self, settings: DeaconSettings) -> float:
        raise NotImplementedError

    def look(self, ctx: PatrolContext) -> Any:
        return None

    def work(self, ctx: PatrolContext, looked: Any) -> Any:
        return looked

    def act(self, ctx: PatrolContext, worked: Any) -> list[Finding]:
        raise NotImplementedError
