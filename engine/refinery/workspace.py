"""The refinery's own worktree: stacking candidates on the tip, landing, rebasing.

Git hooks are off for everything here (`core.hooksPath` points at an empty directory):
agents share the repository's hooks directory, and the refinery must not run their code
outside a gate. The target branch only ever moves by compare-and-swap.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from engine.errors import GtError
from engine.polecats import git, worktrees

IDENT = ["-c", "user.name=Gas Town refinery", "-c", "user.email=refinery@gastown.local"]


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

    def git(self, *args: str, check: bool = True, timeout: float = 600):  # type: ignore[no-untyped-def]
        return git.run(
            ["-c", f"core.hooksPath={self.hooks_dir}", *IDENT, *args],
            cwd=self.path,
            check=check,
            timeout=timeout,
        )

    def ensure(self) -> None:
        os.makedirs(self.hooks_dir, exist_ok=True)
        if not os.path.exists(os.path.join(self.path, ".git")):
            with worktrees.repo_lock(self.repo):
                if os.path.exists(self.path):
                    os.replace(self.path, f"{self.path}.orphan-{os.getpid()}")
                git.run(["worktree", "prune"], cwd=self.repo)
                git.run(
                    ["worktree", "add", "--quiet", "--detach", "--", self.path, self.tip()],
                    cwd=self.repo,
                )

    def tip(self) -> str:
        return git.run(["rev-parse", f"refs/heads/{self.main}"], cwd=self.repo).stdout.strip()

    def reset_to(self, commit: str) -> None:
        self.git("merge", "--abort", check=False)
        self.git("checkout", "--quiet", "--force", "--detach", commit)
        self.git("clean", "-fdq")

    def stack(
        self, base: str, candidates: list[Candidate]
    ) -> tuple[list[Candidate], dict[str, list[str]], dict[str, list[str]]]:
        """Merge the candidates one by one onto `base`; those that conflict, or that would
        undo work already on the target, are left out.

        Returns (stacked, {id: conflicting files}, {id: files it would revert}).
        """
        self.reset_to(base)
        stacked: list[Candidate] = []
        conflicts: dict[str, list[str]] = {}
        reverts: dict[str, list[str]] = {}
        for c in candidates:
            proc = self.git(
                "merge",
                "--no-ff",
                "--no-edit",
                "-m",
                f"Merge {c.id}: {c.title}",
                c.commit,
                check=False,
            )
            if proc.returncode == 0:
                foreign = self.foreign_changes(c)
                if not foreign:
                    stacked.append(c)
                    continue
                self.git("reset", "--quiet", "--hard", "HEAD^1")
                reverts[c.id] = foreign
                continue
            files = self.git("diff", "--name-only", "--diff-filter=U", check=False).stdout.split()
            self.git("merge", "--abort", check=False)
            self.git("reset", "--quiet", "--hard", check=False)
            conflicts[c.id] = files or ["(unknown: the merge failed)"]
        return stacked, conflicts, reverts

    def paths_between(self, a: str, b: str) -> set[str]:
        # --no-renames: a rename must show its deleted side too.
        out = self.git("diff", "--name-only", "--no-renames", a, b, "--").stdout
        return {p for p in out.splitlines() if p}

    def foreign_changes(self, c: Candidate) -> list[str]:
        """Paths the merge of `c` (HEAD, whose first parent is the stack before it) changes
        that its own work since its recorded base does not: a request may only change what
        its own commits change. Anything else is a branch whose files fell out of step with
        its history, and landing it would silently revert work landed after its base."""
        if not c.base:
            return []
        merged = self.paths_between("HEAD^1", "HEAD")
        if not merged:
            return []
        return sorted(merged - self.paths_between(c.base, c.commit))

    def changed_paths(self, commit: str) -> list[str]:
        out = self.git("diff", "--name-only", f"{self.tip()}...{commit}").stdout
        return [p for p in out.splitlines() if p]

    def landing_commit(self, base: str, stacked: list[Candidate]) -> str:
        """One commit on the target per landing: the tested tree, every request a parent.

        The target's first-parent history therefore holds only trees that passed the gates.
        """
        tree = self.git("rev-parse", "HEAD^{tree}").stdout.strip()
        parents: list[str] = []
        for p in [base, *(c.commit for c in stacked)]:
            parents += ["-p", p]
        ids = ", ".join(c.id for c in stacked)
        message = f"Land {ids}\n\n" + "\n".join(f"{c.id}: {c.title}" for c in stacked)
        return str(self.git("commit-tree", tree, *parents, "-m", message).stdout.strip())

    def advance(self, new: str, old: str) -> bool:
        """Compare-and-swap the target branch from old to new; False if it moved meanwhile."""
        proc = git.run(
            ["update-ref", f"refs/heads/{self.main}", new, old], cwd=self.repo, check=False
        )
        return proc.returncode == 0

    def contains(self, commit: str) -> bool:
        proc = git.run(
            ["merge-base", "--is-ancestor", commit, f"refs/heads/{self.main}"],
            cwd=self.repo,
            check=False,
        )
        return proc.returncode == 0

    def rebase(self, commit: str) -> str | None:
        """The candidate rebased onto the tip, or None when that conflicts too."""
        self.reset_to(commit)
        proc = self.git("rebase", "--quiet", self.tip(), check=False)
        if proc.returncode != 0:
            self.git("rebase", "--abort", check=False)
            return None
        return str(self.git("rev-parse", "HEAD").stdout.strip())

    def delete_branch(self, branch: str) -> None:
        """A landed polecat branch goes; a branch a worktree still has checked out stays."""
        proc = git.run(["branch", "-D", "--", branch], cwd=self.repo, check=False)
        if proc.returncode == 0:
            worktrees.forget_base(self.repo, branch)
        elif "checked out" not in (proc.stderr or ""):
            raise GtError(f"could not delete {branch}: {git.last_line(proc.stderr)}")
