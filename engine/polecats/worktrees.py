"""Worktrees of a rig's canonical clone: one per polecat, one branch per bead.

Adds and removes are serialised per repository (concurrent `git worktree add` calls race
on .git/config.lock and commondir) with a lock that works across threads and processes.
A worktree is removed only when that is safe: clean, and its commits merged or kept on a
branch. Unmerged work is never deleted.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from engine.adapters import git
from engine.errors import GtError
from engine.ids import is_bead_id

if TYPE_CHECKING:
    from collections.abc import Iterator

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_thread_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()
EXCLUDE_LINE = ".gastown/"


def check_name(kind: str, value: str) -> str:
    if not NAME_RE.match(value):
        raise GtError(f"bad {kind} name {value!r}: use letters, digits, '-' and '_'")
    return value


def branch_name(polecat: str, bead_id: str) -> str:
    check_name("polecat", polecat)
    if not is_bead_id(bead_id):  # the one id rule (engine/ids.py)
        raise GtError(f"bad bead id {bead_id!r} for a branch name")
    branch = f"polecat/{polecat}/{bead_id}"
    if not git.valid_branch_name(branch):
        raise GtError(f"{branch!r} is not a valid branch name")
    return branch


@contextmanager
def repo_lock(repo: str) -> Iterator[None]:
    key = os.path.realpath(repo)
    with _guard:
        tlock = _thread_locks.setdefault(key, threading.Lock())
    with tlock:
        path = os.path.join(key, ".git", "gastown-worktree.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def inside(parent: str, child: str) -> str:
    """The resolved child path, refused if it escapes its parent (`../` and links)."""
    real_parent = os.path.realpath(parent)
    real_child = os.path.realpath(child)
    if os.path.commonpath([real_parent, real_child]) != real_parent or real_child == real_parent:
        raise GtError(f"refusing path {child!r}: it is not inside {parent}")
    return real_child


def main_ref(repo: str) -> str:
    """The rig's target branch, recorded at `gt rig add` (the clone's HEAD is detached)."""
    return git.target_branch(repo)


def resolve_commit(repo: git.Repository, ref: str) -> str:
    """The commit id a ref names now. Work starts from this id, never from the name:
    git resolves a name more than once inside one command (`checkout -b NEW main` moves the
    files to what main was, then creates NEW at what main is), so a landing in between
    would leave the branch and the files out of step and the agent's next `git add -A`
    would commit the newly landed files as deletions."""
    commit = repo.resolve(ref)
    if not commit:
        raise GtError(f"{ref!r} does not name a commit in {repo.repo.working_tree_dir}")
    return commit


def base_ref(branch: str) -> str:
    """Where a polecat branch's starting commit is recorded (in the repository, so it
    survives crashes and is shared by every worktree); the refinery reads it to check that
    a request changes only what its own work changes."""
    return f"refs/gastown/base/{branch}"


def recorded_bases(repo: str) -> dict[str, str]:
    """Every recorded starting commit, by branch, in one read (the refinery's batch): this
    clone's own, over those fetched from a shared upstream (polecats of other hosts)."""
    from engine import upstream

    with git.opened(repo) as r:
        return {**r.refs(upstream.UPSTREAM_BASES), **r.refs(base_ref(""))}


def record_base(repo: str, branch: str, commit: str) -> None:
    with git.opened(repo) as r:
        _record_base(r, branch, commit)


def _record_base(r: git.Repository, branch: str, commit: str) -> None:
    r.set_ref(base_ref(branch), commit)


def forget_base(r: git.Repository, branch: str) -> None:
    r.delete_ref(base_ref(branch))


def prepare_repo(repo: str) -> None:
    """Once per rig: agents' private files (.gastown/) are never committed."""
    exclude = os.path.join(repo, ".git", "info", "exclude")
    os.makedirs(os.path.dirname(exclude), exist_ok=True)
    existing = ""
    if os.path.exists(exclude):
        with open(exclude, encoding="utf-8") as fh:
            existing = fh.read()
    if EXCLUDE_LINE not in existing.splitlines():
        with open(exclude, "a", encoding="utf-8") as fh:
            fh.write(
                ("\n" if existing and not existing.endswith("\n") else "") + EXCLUDE_LINE + "\n"
            )


def prune(repo: str) -> None:
    with repo_lock(repo), git.opened(repo) as r:
        r.worktree_prune()


def ensure(
    repo: str, polecats_dir: str, polecat: str, bead_id: str, start: str | None = None
) -> tuple[str, str]:
    """The polecat's worktree on a fresh branch for this bead, from the current main.

    A reused polecat keeps its worktree and switches branch (no new clone, no new
    worktree); anything uncommitted there is first committed to its old branch.
    """
    branch = branch_name(polecat, bead_id)
    path = inside(polecats_dir, os.path.join(polecats_dir, check_name("polecat", polecat)))
    prepare_repo(repo)
    follow_upstream(repo)
    with repo_lock(repo), git.opened(repo) as r:
        # Resolved once, inside the lock; every git step below uses the id (see
        # resolve_commit). A rework starts from its earlier commit, but its own work is
        # measured from where that commit forked from main.
        main = resolve_commit(r, main_ref(repo))
        base = resolve_commit(r, start) if start else main
        own_base = (r.merge_base(base, main) or base) if start else base
        exists = r.branch_exists(branch)
        if os.path.isdir(os.path.join(path, ".git")) or os.path.isfile(os.path.join(path, ".git")):
            with git.opened(path) as wt:
                preserve_uncommitted_in(wt, reason=f"before switching to {branch}")
                previous = wt.current_branch()
                if exists:
                    wt.checkout(branch)
                else:
                    _record_base(r, branch, own_base)
                    wt.checkout_new(branch, base)
                if previous.startswith("polecat/") and previous != branch:
                    delete_if_merged(r, wt, previous)
        else:
            os.makedirs(polecats_dir, exist_ok=True)
            if os.path.exists(path):
                # Half-made by a crash mid-`worktree add`: set aside, never deleted.
                os.replace(path, f"{path}.orphan-{os.getpid()}-{int(time.time())}")
                r.worktree_prune()
            if exists:  # a re-dispatch of the same bead: continue its branch
                r.worktree_add(path, branch)
            else:
                _record_base(r, branch, own_base)
                r.worktree_add(path, base, new_branch=branch)
    return path, branch


def follow_upstream(repo: str) -> None:
    """A clone sharing its upstream (engine/upstream.py) fetches upstream main first, so
    new work starts from what landed on any host. An unreachable upstream is logged and
    the work starts from this clone's main: a slightly old start only means a rebase or a
    conflict later, never lost work (every landing is a fast-forward of upstream main)."""
    from engine import upstream

    if not upstream.is_shared(repo):
        return
    main = main_ref(repo)
    try:
        upstream.follow(repo, main, upstream.fetch(repo, main))
    except GtError as exc:
        import logging

        logging.getLogger("gastown.polecats").warning(
            "starting from this clone's %s: %s", main, exc.message
        )


def delete_if_merged(r: git.Repository, wt: git.Repository, branch: str) -> None:
    # `-d` deletes only a branch whose work is merged: unmerged work stays.
    if wt.delete_branch(branch)[0]:
        forget_base(r, branch)


def preserve_uncommitted(path: str, *, reason: str) -> bool:
    """Commit whatever is uncommitted in a worktree onto its current branch."""
    with git.opened(path) as wt:
        return preserve_uncommitted_in(wt, reason=reason)


def preserve_uncommitted_in(wt: git.Repository, *, reason: str) -> bool:
    if not wt.is_dirty():
        return False
    wt.commit_all(
        f"WIP preserved by Gas Town ({reason})", name="Gas Town", email="gastown@localhost"
    )
    return True


def head(path: str) -> str:
    return git.head(path)


def commits_ahead(path: str) -> int:
    """Commits on this worktree's branch that its repository's main does not have."""
    return git.commits_ahead(path)


def current_branch(path: str) -> str:
    return git.current_branch(path)


def remove_if_safe(repo: str, path: str) -> bool:
    """Remove a worktree only when clean and its branch's work is merged or on a branch."""
    if not os.path.exists(path):
        return True
    with repo_lock(repo):
        with git.opened(path) as wt:
            if wt.is_dirty():
                return False
        # Its commits live on its branch (the branch is not deleted here), so removing
        # the checkout loses nothing.
        with git.opened(repo) as r:
            r.worktree_remove(path)
        return True
