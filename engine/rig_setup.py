"""Adding and removing rigs: the canonical clone on disk plus the registry row, together."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from engine.errors import Conflict, GtError
from engine.ledger.rigs import check_prefix, check_rig_name, default_prefix

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.ledger import Ledger
    from engine.records import Rig
    from engine.town import Town


def add_rig(
    town: Town,
    ledger: Ledger,
    name: str,
    source: str,
    *,
    prefix: str | None,
    capabilities: list[str],
    gates: list[str],
    progress: bool = False,
    announce: Callable[[str], None] | None = None,
) -> Rig:
    """Clone SOURCE as the rig's canonical clone and register it; all or nothing."""
    from engine.adapters import git

    check_rig_name(name)
    prefix = check_prefix(prefix or default_prefix(name))
    if ledger.rigs.get(name):
        raise Conflict(f"a rig named {name!r} already exists")
    owner = ledger.rigs.by_prefix(prefix)
    if owner:
        raise Conflict(
            f"prefix {prefix!r} is already used by rig {owner['name']!r}; "
            f"choose another with --prefix"
        )
    if "://" not in source and not source.startswith("git@"):
        local = os.path.abspath(os.path.expanduser(source))
        if not os.path.exists(local):
            raise GtError(f"cannot add rig {name}: {source} does not exist")
        if not git.is_repository(local):
            raise GtError(f"cannot add rig {name}: {source} is not a git repository")
        source = local
    rig_dir = town.rig_dir(name)
    if os.path.exists(rig_dir):
        raise Conflict(f"{rig_dir} already exists; remove it or choose another rig name")
    repo = os.path.join(rig_dir, "repo")
    if announce:
        announce(f"Cloning {source} into rig {name}…")
    tmp = rig_dir + ".adding"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        _clone(source, os.path.join(tmp, "repo"), progress=progress)
        os.replace(tmp, rig_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        return ledger.rigs.add(
            name, prefix=prefix, source=source, path=repo, capabilities=capabilities, gates=gates
        )
    except BaseException:
        shutil.rmtree(rig_dir, ignore_errors=True)
        raise


def _clone(source: str, repo: str, *, progress: bool = False) -> None:
    from engine.adapters import git

    git.clone(source, repo, progress=progress)
    # The target branch is recorded, and the clone's HEAD detached, so the refinery
    # can move the branch without a checkout of it going stale.
    main = git.default_branch(repo)
    with git.opened(repo) as r:
        r.set_config("gastown.main", main)
        r.checkout_detached()


def clone_into(source: str, rig_dir: str) -> str:
    """Another host's copy of an existing rig: SOURCE cloned as `rig_dir/repo`, made
    beside it and renamed into place, so a crash never leaves a half-made clone there."""
    repo = os.path.join(rig_dir, "repo")
    tmp = repo + ".adding"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(rig_dir, exist_ok=True)
    try:
        _clone(source, tmp)
        if os.path.exists(repo):  # not a clone (no .git): set aside, never deleted
            os.replace(repo, f"{repo}.orphan-{os.getpid()}")
        os.replace(tmp, repo)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return repo
