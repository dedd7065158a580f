"""Beads: create one, change its fields, close, cancel or reopen it."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from engine.config import TownConfig
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
    runtime: str | None = None  # the runtime that works it; None: its rig's, else the default


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
    runtime: str | None = None  # "" clears it (back to its rig's runtime)


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


def check_runtime(name: str | None, config: TownConfig | None) -> str | None:
    """A runtime a bead names must be one the town knows (a preset or a `[runtime.NAME]`
    table of `config`; without a config, the presets); refused before anything changes."""
    if not name:
        return None
    from engine.errors import UsageError
    from engine.polecats.runtimes import all_runtimes

    known = all_runtimes(config.runtime.custom if config is not None else None)
    if name not in known:
        raise UsageError(f"unknown runtime {name!r} (known: {', '.join(sorted(known))})")
    return name


def create(
    ledger: Ledger,
    new: NewBead,
    *,
    actor: str,
    slung: bool = False,
    config: TownConfig | None = None,
) -> BeadWritten:
    """File a bead with its labels and dependencies, all or nothing (a refused dependency,
    e.g. one that would make a cycle, leaves no bead behind). A runtime it names is checked
    against `config`'s runtimes."""
    check_deps(new.deps)
    check_runtime(new.runtime, config)
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
            runtime=new.runtime or None,
        )
    return BeadWritten(bead)


def update(
    ledger: Ledger, changes: BeadChanges, *, actor: str, config: TownConfig | None = None
) -> BeadWritten:
    """Change a bead's fields; an update that changes nothing records nothing. A runtime it
    names is checked against `config`'s runtimes."""
    check_runtime(changes.runtime, config)
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
            runtime=changes.runtime,
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
