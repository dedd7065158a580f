"""Rigs: add one (clone a repository into the town) or remove one."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.ledger import Ledger
    from engine.records import Rig
    from engine.town import Town


class NewRig(NamedTuple):
    name: str  # letters, digits, '-' and '_'
    source: str  # a path or URL of a git repository
    prefix: str | None = None  # bead id prefix; default: from the name
    capabilities: tuple[str, ...] = ()
    gates: tuple[str, ...] = ()


class RigAdded(NamedTuple):
    rig: Rig  # the registry row

    def as_dict(self) -> Rig:
        """The documented JSON shape (`gt rig add --json`)."""
        return self.rig


class RigRemoved(NamedTuple):
    rig: Rig  # the registry row as it was
    directory: str  # the rig's clone and worktrees
    purged: bool  # the directory was deleted


def add(
    town: Town,
    ledger: Ledger,
    new: NewRig,
    *,
    progress: bool = False,
    announce: Callable[[str], None] | None = None,
) -> RigAdded:
    """Clone the source as the rig's canonical clone and register it, all or nothing.

    Not one ledger transaction around it all: the clone can take minutes and the ledger
    must not be held meanwhile; engine/rig_setup.py checks the name and prefix first,
    registers last, and removes the clone if registering fails.
    """
    from engine.rig_setup import add_rig

    rig = add_rig(
        town,
        ledger,
        new.name,
        new.source,
        prefix=new.prefix,
        capabilities=list(new.capabilities),
        gates=list(new.gates),
        progress=progress,
        announce=announce,
    )
    return RigAdded(rig)


def remove(
    town: Town, ledger: Ledger, name: str, *, force: bool = False, purge: bool = False
) -> RigRemoved:
    """Unregister a rig. Refused while its agents hold work, unless forced (they are then
    retired). Its files are kept unless `purge`, which deletes the rig's directory."""
    with ledger.transaction():
        rig = ledger.rigs.remove(name, force=force)
    directory = town.rig_dir(name)
    if purge:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
    return RigRemoved(rig, directory, purge)
