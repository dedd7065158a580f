"""The git adapter: every git command of the project runs here.

Two paths, one set of rules (no shell, no terminal prompts, `--` before user-supplied
paths, git's own error turned into one readable line):

- GitPython, for the engine: `opened(path)` yields a `Repository`, a GitPython `Repo`
  with named operations (reads through the Repo, commands through `repo.git`), and closes
  the Repo when the block ends: GitPython otherwise keeps `git cat-file --batch` processes
  alive, and a long-running engine would collect them.
- plain subprocess (`run`), for the calls GitPython cannot serve as well; each says why.
  GitPython costs ~60 ms to import (`python -c pass` is ~20 ms here), so it is imported
  only inside `opened`, never by a `gt` command that does not touch git.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from engine.errors import GtError

if TYPE_CHECKING:
    from git import Repo

GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}


class GitError(GtError):
    pass


def run(
    args: list[str],
    *,
    cwd: str | None = None,
    check: bool = True,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    capture: bool = True,
) -> subprocess.CompletedProcess[str]:
    """git itself, for the paths GitPython cannot serve (each caller says why)."""
    full_env = {**os.environ, **GIT_ENV, **(env or {})}
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=full_env,
            text=True,
            capture_output=capture,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {int(timeout)}s and was stopped") from None
    if check and proc.returncode != 0:
        raise GitError(f"git {args[0]} failed: {last_line(proc.stderr or proc.stdout or '')}")
    return proc


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    meaningful = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    return (meaningful or lines or ["(no message)"])[-1]


# ---- the plain path: `gt done`'s reads, and what GitPython cannot do ----


def current_branch(path: str) -> str:
    # Plain subprocess: `gt done` reads this, and importing GitPython (~60 ms) would triple it.
    return run(["rev-parse", "--abbrev-ref", "HEAD"], cwd=path).stdout.strip()


def head(path: str) -> str:
    # Plain subprocess: `gt done` reads this, and importing GitPython (~60 ms) would triple it.
    return run(["rev-parse", "HEAD"], cwd=path).stdout.strip()


def target_branch(repo: str) -> str:
    """The rig's target branch, recorded at `gt rig add` (the clone's HEAD is detached)."""
    # Plain subprocess: `gt done` reads this (via commits_ahead); GitPython costs ~60 ms.
    proc = run(["config", "--get", "gastown.main"], cwd=repo, check=False)
    return proc.stdout.strip() or default_branch(repo)


def commits_ahead(path: str) -> int:
    """Commits on this worktree's branch that its repository's target branch lacks."""
    # Plain subprocess: `gt done` reads this, and importing GitPython (~60 ms) would triple it.
    common = run(["rev-parse", "--git-common-dir"], cwd=path).stdout.strip()
    repo = os.path.dirname(os.path.abspath(os.path.join(path, common)))
    out = run(["rev-list", "--count", f"{target_branch(repo)}..HEAD"], cwd=path).stdout
    return int(out.strip() or 0)


def default_branch(repo: str) -> str:
    # Plain subprocess: reached from `gt done` through target_branch (GitPython costs ~60 ms).
    proc = run(["symbolic-ref", "--short", "HEAD"], cwd=repo, check=False)
    return proc.stdout.strip() or "main"


def is_repository(path: str) -> bool:
    # Plain subprocess: GitPython's Repo() accepts only a repository's top folder, where
    # `gt rig add` has always taken any folder inside one.
    proc = run(["rev-parse", "--git-dir"], cwd=path, check=False)
    return proc.returncode == 0


def valid_branch_name(branch: str) -> bool:
    # Plain subprocess: no repository is involved, so there is no Repo to hold.
    return run(["check-ref-format", "--branch", branch], check=False).returncode == 0


def clone(source: str, dest: str, *, progress: bool = False) -> None:
    """Clone SOURCE (a path or URL) into DEST. Progress goes to the terminal when asked."""
    # Plain subprocess: GitPython's clone pipes git's stderr, so the person's terminal would
    # show no progress for a clone that can take minutes.
    args = ["clone", "--quiet", "--", source, dest]
    if progress:
        args = ["clone", "--progress", "--", source, dest]
    run(args, capture=not progress, timeout=3600)
    if progress and not os.path.isdir(os.path.join(dest, ".git")):
        raise GitError(f"git clone of {source} failed")


# ---- the GitPython path ----


@contextmanager
def opened(path: str, *, config: Sequence[str] = (), timeout: float = 600) -> Iterator[Repository]:
    """The repository (or worktree) at PATH for one block of work; closed when it ends.

    `config` is `-c key=value` settings every command of the block runs with."""
    from git import Repo  # GitPython: ~60 ms to import, so only once git is wanted
    from git.exc import InvalidGitRepositoryError, NoSuchPathError

    try:
        repo = Repo(path)
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise GitError(f"{path} is not a git repository") from None
    try:
        repo.git.update_environment(**GIT_ENV)
        if config:
            repo.git.set_persistent_git_options(c=list(config))
        yield Repository(repo, timeout)
    finally:
        repo.close()  # ends its `git cat-file --batch` processes


@contextmanager
def init(path: str, *, branch: str) -> Iterator[Repository]:
    """A new repository at PATH with BRANCH as its first branch, open for a block."""
    from git import Repo  # GitPython: ~60 ms to import, so only once git is wanted

    repo = Repo.init(path, initial_branch=branch, quiet=True)
    try:
        repo.git.update_environment(**GIT_ENV)
        yield Repository(repo, 600)
    finally:
        repo.close()  # ends its `git cat-file --batch` processes


class Repository:
    """Named git operations on one open GitPython Repo (see `opened`)."""

    def __init__(self, repo: Repo, timeout: float) -> None:
        self.repo = repo
        self.timeout = timeout

    def _cmd(self, command: str, *args: str, check: bool = True) -> tuple[int, str, str]:
        """One git command through `repo.git`: (status, stdout, stderr)."""
        status, out, err = getattr(self.repo.git, command)(
            *args,
            with_extended_output=True,
            with_exceptions=False,
            kill_after_timeout=self.timeout,
        )
        if check and status != 0:
            name = command.replace("_", "-")
            raise GitError(f"git {name} failed: {last_line(str(err or out or ''))}")
        return int(status), str(out), str(err)

    # -- reads --

    def resolve(self, ref: str) -> str | None:
        """The commit id REF names now, or None."""
        from gitdb.exc import BadName, BadObject

        try:
            return str(self.repo.rev_parse(f"{ref}^{{commit}}").hexsha)
        except (BadName, BadObject, ValueError, IndexError):
            return None

    def current_branch(self) -> str:
        """The branch checked out, or "HEAD" when detached (as `rev-parse --abbrev-ref`)."""
        head = self.repo.head
        return "HEAD" if head.is_detached else str(head.reference.name)

    def ref_commit(self, ref: str) -> str | None:
        """The id a ref points at, read from the ref itself (no git process), or None."""
        from git import SymbolicReference

        try:
            return str(SymbolicReference.dereference_recursive(self.repo, ref))
        except ValueError:
            return None

    def branch_exists(self, branch: str) -> bool:
        from git import Head

        return bool(Head(self.repo, f"refs/heads/{branch}").is_valid())

    def merge_base(self, a: str, b: str) -> str | None:
        from git.exc import GitCommandError

        try:
            bases = self.repo.merge_base(a, b)
        except GitCommandError:
            return None
        return str(bases[0].hexsha) if bases and bases[0] is not None else None

    def is_ancestor(self, ancestor: str, rev: str) -> bool:
        from git.exc import GitCommandError

        try:
            return bool(self.repo.is_ancestor(ancestor, rev))  # type: ignore[arg-type]  # any rev
        except GitCommandError:  # a commit it does not know is not an ancestor
            return False

    def is_dirty(self) -> bool:
        """Anything uncommitted: staged, changed or untracked (ignored files aside)."""
        # one `git status` through repo.git: Repo.is_dirty(untracked_files=True) runs three
        # git processes (diff --cached, diff, ls-files) for the same answer
        return bool(self.repo.git.status("--porcelain", "--untracked-files=normal").strip())

    def refs(self, prefix: str) -> dict[str, str]:
        """Every ref under PREFIX (`refs/…/`), by the rest of its name, with its commit."""
        from git import Reference, SymbolicReference

        out = {}
        for ref in Reference.iter_items(self.repo, common_path=prefix.rstrip("/")):
            if ref.path.startswith(prefix):
                sha = SymbolicReference.dereference_recursive(self.repo, ref.path)
                out[ref.path[len(prefix) :]] = str(sha)
        return out

    def changed_paths(self, *revs: str, renames: bool = True) -> list[str]:
        """Paths that differ between two revisions (or across one `a...b` range)."""
        flags = ["--name-only", *([] if renames else ["--no-renames"])]
        _, out, _ = self._cmd("diff", *flags, *revs, "--")
        return [p for p in out.splitlines() if p]

    def merge_conflicts(self, a: str, b: str) -> list[str]:
        """The files a merge of commits A and B would leave in conflict ([] merges
        cleanly): `git merge-tree --write-tree` (git >= 2.38) merges in the object store
        only, touching no worktree and no index (the conflict forecast)."""
        args = ("--write-tree", "--name-only", "--no-messages", "-z", a, b)
        status, out, err = self._cmd("merge_tree", *args, check=False)
        # git 2.39 exits 1 for a conflict and for an error (a bad ref) alike: a merge,
        # clean or not, is told apart by the tree id its output starts with
        tree, _, names = out.partition("\0")
        if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", tree.strip()):
            raise GitError(f"git merge-tree failed: {last_line(err or out)}")
        return [] if status == 0 else list(dict.fromkeys(p for p in names.split("\0") if p))

    def change_size(self, target: str, head: str) -> int:
        """Lines HEAD's own commits add and remove since it left TARGET (`target...head`);
        a binary file counts as one line."""
        # the a...b range: numstat from the merge base, so the target moving on is not
        # counted as this branch's change
        rows = self.numstat(f"{target}...{head}", None)
        return sum((added or 0) + (removed or 0) or 1 for added, removed, _ in rows)

    def conflicted_paths(self) -> list[str]:
        _, out, _ = self._cmd("diff", "--name-only", "--diff-filter=U", check=False)
        return out.split()

    def tree(self, rev: str = "HEAD") -> str:
        return str(self.repo.commit(rev).tree.hexsha)

    # Diffs for people (engine/views/diffs.py). No renames (a rename is a delete and an
    # add: one path per file, simple to list), no external diff drivers or textconv (a
    # repository's config must not run programs when someone looks at a diff).
    _DIFF_FLAGS = ("--no-renames", "--no-ext-diff", "--no-textconv", "--no-color")

    def numstat(self, base: str, head: str | None) -> list[tuple[int | None, int | None, str]]:
        """(added, removed, path) for each file that differs between BASE and HEAD (a
        commit), or the working tree when HEAD is None; counts are None for a binary."""
        revs = [base, *([head] if head else [])]
        _, out, _ = self._cmd("diff", "--numstat", "-z", *self._DIFF_FLAGS, *revs, "--")
        rows: list[tuple[int | None, int | None, str]] = []
        for record in out.split("\0"):  # -z: paths verbatim, whatever characters they hold
            added, _, rest = record.partition("\t")
            removed, _, path = rest.partition("\t")
            if path:
                rows.append((count(added), count(removed), path))
        return rows

    def untracked(self, limit: int) -> list[str]:
        """Files not yet added (ignored ones aside), at most LIMIT: new work in a worktree."""
        _, out, _ = self._cmd("ls_files", "--others", "--exclude-standard", "-z")
        return [p for p in out.split("\0") if p][:limit]

    def patch(self, base: str, head: str | None, path: str) -> str:
        """The unified diff of one file between BASE and HEAD (None: the working tree)."""
        revs = [base, *([head] if head else [])]
        return self._cmd("diff", *self._DIFF_FLAGS, *revs, "--", path)[1]

    def new_file_patch(self, path: str, *, numstat: bool = False) -> str:
        """An untracked file as a diff from nothing (`numstat`: its line count only, "-"
        for a binary file)."""
        # --no-index exits 1 when the files differ, which they always do here
        flags = ["--numstat"] if numstat else []
        args = ["--no-index", *flags, *self._DIFF_FLAGS, "--", os.devnull, path]
        return self._cmd("diff", *args, check=False)[1]

    # -- commands --

    def worktree_add(
        self,
        path: str,
        start: str,
        *,
        new_branch: str | None = None,
        detach: bool = False,
    ) -> None:
        """A worktree at PATH: START checked out (a branch, or a commit on NEW_BRANCH or
        detached)."""
        flags = ["--quiet"]
        if new_branch:
            flags += ["--no-track", "-b", new_branch]
        if detach:
            flags.append("--detach")
        self._cmd("worktree", "add", *flags, "--", path, start)

    def worktree_remove(self, path: str) -> None:
        self._cmd("worktree", "remove", "--", path)

    def worktree_prune(self) -> None:
        self._cmd("worktree", "prune")

    def checkout(self, branch: str) -> None:
        self._cmd("checkout", "--quiet", branch)

    def checkout_new(self, branch: str, start: str) -> None:
        self._cmd("checkout", "--quiet", "--no-track", "-b", branch, start)

    def checkout_detached(self, commit: str | None = None, *, force: bool = False) -> None:
        flags = ["--quiet", *(["--force"] if force else []), "--detach"]
        self._cmd("checkout", *flags, *([commit] if commit else []))

    def clean(self) -> None:
        self._cmd("clean", "-fdq")

    def commit_all(self, message: str, *, name: str, email: str) -> None:
        """Stage everything and commit it (no hooks: this is Gas Town's commit)."""
        self._cmd("add", "-A")
        self.repo.git(c=[f"user.name={name}", f"user.email={email}"])
        self._cmd("commit", "--quiet", "--no-verify", "-m", message)

    def merge(self, commit: str, message: str) -> bool:
        return (
            self._cmd("merge", "--no-ff", "--no-edit", "-m", message, commit, check=False)[0] == 0
        )

    def merge_abort(self) -> None:
        self._cmd("merge", "--abort", check=False)

    def reset_hard(self, rev: str | None = None, *, check: bool = True) -> None:
        self._cmd("reset", "--quiet", "--hard", *([rev] if rev else []), check=check)

    def rebase(self, onto: str) -> bool:
        """Rebase HEAD onto ONTO; a conflict is aborted and gives False."""
        if self._cmd("rebase", "--quiet", onto, check=False)[0] == 0:
            return True
        self._cmd("rebase", "--abort", check=False)
        return False

    def commit_tree(self, tree: str, parents: list[str], message: str) -> str:
        args = [tree]
        for p in parents:
            args += ["-p", p]
        return self._cmd("commit_tree", *args, "-m", message)[1].strip()

    def set_ref(self, ref: str, commit: str) -> None:
        self._cmd("update_ref", ref, commit)

    def swap_ref(self, ref: str, new: str, old: str) -> bool:
        """Compare-and-swap: REF to NEW only if it still points at OLD."""
        return self._cmd("update_ref", ref, new, old, check=False)[0] == 0

    def delete_ref(self, ref: str) -> None:
        self._cmd("update_ref", "-d", ref, check=False)

    def delete_branch(self, branch: str, *, force: bool = False) -> tuple[bool, str]:
        """(deleted, git's message): `-d` keeps unmerged work, `-D` does not ask."""
        status, _, err = self._cmd("branch", "-D" if force else "-d", "--", branch, check=False)
        return status == 0, err

    def set_config(self, key: str, value: str) -> None:
        self._cmd("config", key, value)


def count(field: str) -> int | None:
    """A `--numstat` count: a number, or "-" for a binary file."""
    return int(field) if field.strip().isdigit() else None
