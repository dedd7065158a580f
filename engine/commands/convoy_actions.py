"""Convoys: create one (of existing beads, or of a plan file), launch, add to, cancel.

Listing and status are reads: `gt convoy list/status` ask the ledger directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.records import Convoy as ConvoyRecord


class ConvoyCreate(NamedTuple):
    """A convoy of existing `beads`, or of the beads a TOML `plan` file declares."""

    title: str
    beads: tuple[str, ...] = ()
    plan: str | None = None  # a plan file's path; wins over `beads`
    staged: bool = False  # dispatch nothing until launched


class Convoy(NamedTuple):
    """A convoy after a change."""

    id: str
    status: str
    beads: tuple[str, ...]
    record: ConvoyRecord  # the ledger's convoy (a CancelledConvoy after a cancel)

    @classmethod
    def of(cls, record: ConvoyRecord) -> Convoy:
        return cls(record["id"], record["status"], tuple(record["beads"]), record)

    @property
    def cancelled(self) -> tuple[str, ...]:
        """The beads a cancel cancelled (those that had not landed)."""
        return tuple(self.record.get("cancelled", ()))  # type: ignore[arg-type]

    def as_dict(self) -> ConvoyRecord:
        """The documented JSON shape (`gt convoy create|launch|add|cancel --json`)."""
        return self.record


def create(
    ledger: Ledger, request: ConvoyCreate, *, actor: str, config: TownConfig | None = None
) -> Convoy:
    """All or nothing: a plan's beads, their needs and the convoy are written together, and
    a refused plan (a bad field, a cycle, an unknown need or runtime) writes nothing. The
    plan's own title is ignored: the request's wins. Runtimes a plan names are checked
    against `config`'s (without one: the presets)."""
    if request.plan:
        from engine.plans import load_plan, validate_plan

        _plan_title, items = load_plan(request.plan)  # the file is read outside the lock
        with ledger.transaction(durable=True):
            planned = validate_plan(ledger, items, request.plan, config)
            record = ledger.convoys.create_planned(
                request.title, planned, staged=request.staged, actor=actor
            )
        return Convoy.of(record)
    with ledger.transaction(durable=True):
        record = ledger.convoys.create(
            request.title, list(request.beads), staged=request.staged, actor=actor
        )
    return Convoy.of(record)


def launch(ledger: Ledger, convoy_id: str, *, actor: str) -> Convoy:
    """A staged convoy's beads are slung; they dispatch as they become ready."""
    with ledger.transaction(durable=True):
        return Convoy.of(ledger.convoys.launch(convoy_id, actor=actor))


def add(ledger: Ledger, convoy_id: str, beads: tuple[str, ...], *, actor: str) -> Convoy:
    """Track more beads; a landed convoy reopens, a cancelled one refuses."""
    with ledger.transaction(durable=True):
        return Convoy.of(ledger.convoys.add(convoy_id, list(beads), actor=actor))


def cancel(ledger: Ledger, convoy_id: str, *, actor: str, reason: str | None = None) -> Convoy:
    """Cancel every tracked bead that has not landed, then the convoy."""
    with ledger.transaction(durable=True):
        return Convoy.of(ledger.convoys.cancel(convoy_id, actor=actor, reason=reason))
