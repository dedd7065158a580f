"""Beads: create one, change its fields, close, cancel or reopen it."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.records import Bead


class NewBead(NamedTuple):
    """A bead to file (`gt bead create`, or created and slung in one step)."""

    title: str
    rig: str | None = None
    bead_type: str = "task"
    priority: int | str = 2  # `gt` passes the text it was given; the ledger checks it
    body: str = ""
    labels: tuple[str, ...] = ()
    deps: tuple[tuple[str, str], ...] = ()  # (bead id or external:PROJECT:ID, dependency type)


class BeadChanges(NamedTuple):
    """Fields to change; None (or empty) leaves a field as it is."""

    bead_id: str
    title: str | None = None
    priority: int | str | None = None
    body: str | None = None
    bead_type: str | None = None
    rig: str | None = None
    add_labels: tuple[str, ...] = ()
    remove_labels: tuple[str, ...] = ()
    defer_until: str | None = None  # ISO-8601; "" clears it


class BeadWritten(NamedTuple):
    """The bead as the ledger has it after the write."""

    bead: Bead

    @property
    def id(self) -> str:
        return str(self.bead["id"])

    def as_dict(self) -> Bead:
        """The documented JSON shape (`gt bead create|update|close|cancel|reopen --json`)."""
        return self.bead


def check_deps(deps: tuple[tuple[str, str], ...]) -> None:
    """A dependency points at a bead id or at `external:PROJECT:ID` (stored without a
    bead); anything else is refused before anything changes."""
    from engine.ids import check_dep_target

    for target, _type in deps:
        check_dep_target(target)


def create(ledger: Ledger, new: NewBead, *, actor: str, slung: bool = False) -> BeadWritten:
    """File a bead with its labels and dependencies, all or nothing (a refused dependency,
    e.g. one that would make a cycle, leaves no bead behind)."""
    check_deps(new.deps)
    with ledger.transaction():
        bead = ledger.beads.create(
            new.title,
            rig=new.rig,
            bead_type=new.bead_type,
            priority=new.priority,  # type: ignore[arg-type]  # text is checked by the ledger
            body=new.body,
            labels=list(new.labels),
            deps=list(new.deps),
            created_by=actor,
            slung=slung,
        )
    return BeadWritten(bead)


def update(ledger: Ledger, changes: BeadChanges, *, actor: str) -> BeadWritten:
    """Change a bead's fields; an update that changes nothing records nothing."""
    with ledger.transaction():
        bead = ledger.beads.update(
            changes.bead_id,
            actor=actor,
            title=changes.title,
            priority=changes.priority,  # type: ignore[arg-type]  # text is checked by the ledger
            body=changes.body,
            bead_type=changes.bead_type,
            add_labels=list(changes.add_labels),
            remove_labels=list(changes.remove_labels),
            rig=changes.rig,
            defer_until=changes.defer_until,
        )
    return BeadWritten(bead)


def close(ledger: Ledger, bead_id: str, *, actor: str, reason: str | None = None) -> BeadWritten:
    """Close a bead by hand: downstream beads may become ready, its agent is released."""
    with ledger.transaction(durable=True):
        return BeadWritten(ledger.beads.close(bead_id, reason=reason, actor=actor))


def cancel(ledger: Ledger, bead_id: str, *, actor: str, reason: str | None = None) -> BeadWritten:
    """Cancel a bead that is not yet final."""
    with ledger.transaction(durable=True):
        return BeadWritten(ledger.beads.cancel(bead_id, reason=reason, actor=actor))


def reopen(ledger: Ledger, bead_id: str, *, actor: str) -> BeadWritten:
    """A closed, failed or cancelled bead goes back to the backlog, waiting to be slung."""
    with ledger.transaction(durable=True):
        return BeadWritten(ledger.beads.reopen(bead_id, actor=actor))
