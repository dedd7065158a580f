"""The refinery's own worktree: stacking candidates on the tip, landing, rebasing.

Git hooks are off for everything here (`core.hooksPath` points at an empty directory):
agents share the repository's hooks directory, and the refinery must not run their code
outside a gate. The target branch only ever moves by compare-and-swap.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import NamedTuple

from engine.adapters import git
from engine.errors import GtError
from engine.polecats import worktrees

IDENT = ("user.name=Gas Town refinery", "user.email=refinery@gastown.local")


class Candidate(NamedTuple):
    id: str
    commit: str
    title: str
    base: str | None = None  # the commit its work started from, when recorded


class Workspace:
    def __init__(self, repo: str, path: str, hooks_dir: str) -> None:
        self.repo = repo
        self.path = path
        self.hooks_dir = hooks_dir
        self.main = worktrees.main_ref(repo)

    def opened(self) -> AbstractContextManager[git.Repository]:
        """The refinery's worktree for one step: hooks off, the refinery's identity."""
        return git.opened(self.path, config=(f"core.hooksPath={self.hooks_dir}", *IDENT))

    def ensure(self) -> None:
        os.makedirs(self.hooks_dir, exist_ok=True)
        if not os.path.exists(os.path.join(self.path, ".git")):
            with worktrees.repo_lock(self.repo), git.opened(self.repo) as r:
                if os.path.exists(self.path):
                    os.replace(self.path, f"{self.path}.orphan-{os.getpid()}")
                r.worktree_prune()
                r.worktree_add(self.path, self._tip(r), detach=True)

    def tip(self) -> str:
        with git.opened(self.repo) as r:
            return self._tip(r)

    def _tip(self, r: git.Repository) -> str:
        tip = r.ref_commit(f"refs/heads/{self.main}")
        if not tip:
            raise GtError(f"the target branch {self.main} is missing from {self.repo}")
        return tip

    @staticmethod
    def _reset_to(ws: git.Repository, commit: str) -> None:
        ws.merge_abort()
        ws.checkout_detached(commit, force=True)
        ws.clean()

    def reset_to(self, commit: str) -> None:
        with self.opened() as ws:
            self._reset_to(ws, commit)

    def stack(
        self, base: str, candidates: list[Candidate]
    ) -> tuple[list[Candidate], dict[str, list[str]], dict[str, list[str]]]:
        """Merge the candidates one by one onto `base`; those that conflict, or that would
        undo work already on the target, are left out.

        Returns (stacked, {id: conflicting files}, {id: files it would revert}).
        """
        stacked: list[Candidate] = []
        conflicts: dict[str, list[str]] = {}
        reverts: dict[str, list[str]] = {}
        with self.opened() as ws:
            self._reset_to(ws, base)
            for c in candidates:
                if ws.merge(c.commit, f"Merge {c.id}: {c.title}"):
                    foreign = self.foreign_changes(ws, c)
                    if not foreign:
                        stacked.append(c)
                        continue
                    ws.reset_hard("HEAD^1")
                    reverts[c.id] = foreign
                    continue
                files = ws.conflicted_paths()
                ws.merge_abort()
                ws.reset_hard(check=False)
                conflicts[c.id] = files or ["(unknown: the merge failed)"]
        return stacked, conflicts, reverts

    @staticmethod
    def paths_between(ws: git.Repository, a: str, b: str) -> set[str]:
        # without renames: a rename must show its deleted side too.
        return set(ws.changed_paths(a, b, renames=False))

    def foreign_changes(self, ws: git.Repository, c: Candidate) -> list[str]:
        """Paths the merge of `c` (HEAD, whose first parent is the stack before it) changes
        that its own work since its recorded base does not: a request may only change what
        its own commits change. Anything else is a branch whose files fell out of step with
        its history, and landing it would silently revert work landed after its base."""
        if not c.base:
            return []
        merged = self.paths_between(ws, "HEAD^1", "HEAD")
        if not merged:
            return []
        return sorted(merged - self.paths_between(ws, c.base, c.commit))

    def changed_paths(self, commit: str) -> list[str]:
        tip = self.tip()
        with self.opened() as ws:
            return ws.changed_paths(f"{tip}...{commit}")

    def landing_commit(self, base: str, stacked: list[Candidate]) -> str:
        """One commit on the target per landing: the tested tree, every request a parent.

        The target's first-parent history therefore holds only trees that passed the gates.
        """
        ids = ", ".join(c.id for c in stacked)
        message = f"Land {ids}\n\n" + "\n".join(f"{c.id}: {c.title}" for c in stacked)
        with self.opened() as ws:
            parents = [base, *(c.commit for c in stacked)]
            return ws.commit_tree(ws.tree("HEAD"), parents, message)

    def advance(self, new: str, old: str) -> bool:
        """Compare-and-swap the target branch from old to new; False if it moved meanwhile."""
        with git.opened(self.repo) as r:
            return r.swap_ref(f"refs/heads/{self.main}", new, old)

    def contains(self, commit: str) -> bool:
        with git.opened(self.repo) as r:
            return r.is_ancestor(commit, f"refs/heads/{self.main}")

    def rebase(self, commit: str) -> str | None:
        """The candidate rebased onto the tip, or None when that conflicts too."""
        tip = self.tip()
        with self.opened() as ws:
            self._reset_to(ws, commit)
            if not ws.rebase(tip):
                return None
            return ws.resolve("HEAD")

    def delete_branch(self, branch: str) -> None:
        """A landed polecat branch goes; a branch a worktree still has checked out stays."""
        with git.opened(self.repo) as r:
            deleted, message = r.delete_branch(branch, force=True)
            if deleted:
                worktrees.forget_base(r, branch)
            elif "checked out" not in message and "not found" not in message:
                # (not found: a branch made on another host's clone, fetched, never here)
                raise GtError(f"could not delete {branch}: {git.last_line(message)}")
