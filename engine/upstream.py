"""A rig's upstream: the remote every host's clone of the rig shares (issue 14).

Each host has its own town directory, so a rig's clone is the one under this town
(`local_clone`), never the absolute path the town that added the rig recorded. A clone
*shares* its upstream (`origin`, the rig's source) once its engine has joined the town as
a host (`ensure_local_clone`): only then do branches and landings travel through it —

- `gt done` pushes the polecat's branch (and its recorded base) to the upstream, so the
  refinery may run on another host;
- the refinery fetches candidates and main from it before each batch, and pushes each
  landing to it, fast-forward only, before it records the landing;
- a new polecat worktree starts from upstream main, fetched first.

A town that never runs with hosts keeps today's behaviour: nothing is ever pushed to a
rig's source. The flag is the clone's own git config (`gastown.upstream`), so `gt done`
reads it with one `git config` call and no ledger query.

Plain git calls only (engine/adapters/git_remote.py, no GitPython): `gt done` imports this.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from engine.adapters import git_remote as remote
from engine.errors import GtError

if TYPE_CHECKING:
    from engine.records import Rig
    from engine.town import Town

REMOTE = "origin"
SHARED_KEY = "gastown.upstream"
BRANCHES = "refs/heads/polecat/"
BASES = "refs/gastown/base/"
# where another host's recorded bases land here: never over this host's own records
UPSTREAM_BASES = "refs/gastown/upstream-base/"


def local_clone(town: Town, rig: str) -> str:
    """The rig's clone in THIS town directory (`rigs/<rig>/repo`)."""
    return os.path.join(town.rig_dir(rig), "repo")


def ensure_local_clone(town: Town, rig: Rig) -> str:
    """Called when a host joins the town: clone the rig's source (its upstream) into this
    town when the clone is missing, and make the clone share that upstream. Returns the
    clone's path. A half-made clone from a crash is replaced; an existing one is kept."""
    from engine.rig_setup import clone_into

    repo = local_clone(town, rig["name"])
    if not os.path.isdir(os.path.join(repo, ".git")):
        clone_into(rig["source"], town.rig_dir(rig["name"]))
    if not remote.config_value(repo, f"remote.{REMOTE}.url"):
        raise GtError(f"the clone {repo} has no {REMOTE} remote to share with other hosts")
    remote.set_config_value(repo, SHARED_KEY, REMOTE)
    return repo


def is_shared(repo: str) -> bool:
    """Whether the clone (or a worktree of it) at REPO shares its upstream."""
    return remote.config_value(repo, SHARED_KEY) == REMOTE


def push_branch(worktree: str, branch: str) -> None:
    """`gt done` on a shared rig: the polecat's branch and its recorded starting commit go
    to the upstream, so a refinery on any host can fetch them. Forced: the branch is this
    polecat's own (names are unique town-wide), and the merge request pins the commit."""
    if not branch.startswith("polecat/"):
        raise GtError(f"{branch} is not a polecat branch; gt done submits polecat branches")
    specs = [f"+refs/heads/{branch}:refs/heads/{branch}"]
    if remote.rev(worktree, f"{BASES}{branch}"):
        specs.append(f"+{BASES}{branch}:{BASES}{branch}")
    if not remote.push(worktree, REMOTE, specs):
        raise GtError(f"the upstream refused {branch}")


def fetch(repo: str, main: str, *, candidates: bool = False) -> str:
    """Fetch upstream main (and, for the refinery, every polecat branch and recorded base);
    returns upstream main's commit."""
    specs = [f"+refs/heads/{main}:refs/remotes/{REMOTE}/{main}"]
    if candidates:
        specs += [
            f"+{BRANCHES}*:refs/remotes/{REMOTE}/polecat/*",
            f"+{BASES}*:{UPSTREAM_BASES}*",
        ]
    remote.fetch(repo, REMOTE, specs, prune=candidates)
    tip = remote.rev(repo, f"refs/remotes/{REMOTE}/{main}")
    if not tip:
        raise GtError(f"the upstream of {repo} has no branch {main}")
    return tip


def follow(repo: str, main: str, upstream_tip: str) -> str:
    """Move the clone's main forward to the upstream's (compare-and-swap, fast-forward
    only). Returns the clone's main afterwards: the upstream tip, or a local tip that is
    ahead of it (landed here before the rig was shared; the refinery pushes it). A clone
    whose main has diverged from the upstream's is refused: nothing is rewritten."""
    ref = f"refs/heads/{main}"
    for _ in range(10):  # the refinery and a worktree creation may both move it: retry
        local = remote.rev(repo, ref)
        if local is None:
            if remote.swap_ref(repo, ref, upstream_tip, ""):
                return upstream_tip
            continue
        if remote.contains(repo, upstream_tip, local):
            return local  # already there, or ahead
        if not remote.contains(repo, local, upstream_tip):
            raise GtError(
                f"{main} in {repo} and on its upstream have diverged; "
                "nothing was changed (a person must reconcile them)"
            )
        if remote.swap_ref(repo, ref, upstream_tip, local):
            return upstream_tip
    raise GtError(f"{main} in {repo} kept moving; try again")


def has_commit(repo: str, commit: str) -> bool:
    """Whether the clone has COMMIT (a candidate pushed by another host arrives with the
    refinery's next fetch)."""
    return remote.rev(repo, commit) is not None


def push_main(repo: str, main: str, commit: str) -> bool:
    """Publish a landing: upstream main to COMMIT, fast-forward only. False when the
    upstream's main moved meanwhile (the push is refused, nothing is overwritten)."""
    return remote.push(repo, REMOTE, [f"{commit}:refs/heads/{main}"])


def delete_branch(repo: str, branch: str) -> None:
    """A landed polecat branch leaves the upstream too (best effort: it is merged)."""
    remote.push(repo, REMOTE, [f":refs/heads/{branch}", f":{BASES}{branch}"])
