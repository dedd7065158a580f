"""The git adapter's remote half: fetch, push and the ref reads around them
(engine/upstream.py, a rig shared across hosts). Same rules as engine/adapters/git.py,
whose `run` it uses; kept apart only so neither module grows past a reader's room.
"""

from __future__ import annotations

import re

from engine.adapters.git import GitError, last_line, run

# Plain subprocess: `gt done` pushes a polecat's branch (GitPython would triple its time),
# and the engine's fetches and pushes are single git processes either way.

_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def redact(text: str) -> str:
    """A remote URL's user and password never reach a message or a log."""
    return _CREDENTIALS.sub(r"\1***@", text)


def config_value(repo: str, key: str) -> str:
    """One git config value of the repository (or worktree) at REPO; "" when unset."""
    return run(["config", "--get", key], cwd=repo, check=False).stdout.strip()


def set_config_value(repo: str, key: str, value: str) -> None:
    run(["config", key, value], cwd=repo)


def fetch(repo: str, remote: str, refspecs: list[str], *, prune: bool = False) -> None:
    """Fetch REFSPECS from REMOTE (`prune`: local copies of refs the remote no longer has
    go too); one readable line (no credentials) when it fails."""
    flags = ["--quiet", "--no-tags", *(["--prune"] if prune else [])]
    proc = run(["fetch", *flags, remote, *refspecs], cwd=repo, check=False)
    if proc.returncode != 0:
        raise GitError(f"git fetch from {remote} failed: {redact(last_line(proc.stderr))}")


def push(repo: str, remote: str, refspecs: list[str]) -> bool:
    """Push REFSPECS to REMOTE without forcing anything the refspec does not force (a
    leading `+`): False when the remote refused an update that is not a fast-forward
    (someone else moved it); any other failure raises one readable line."""
    proc = run(["push", "--quiet", "--porcelain", remote, *refspecs], cwd=repo, check=False)
    if proc.returncode == 0:
        return True
    text = f"{proc.stdout}\n{proc.stderr}"
    if "[rejected]" in text or "non-fast-forward" in text or "fetch first" in text:
        return False
    raise GitError(f"git push to {remote} failed: {redact(last_line(proc.stderr or text))}")


def rev(repo: str, ref: str) -> str | None:
    """The commit REF names in REPO, or None."""
    proc = run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=repo, check=False)
    return proc.stdout.strip() or None


def contains(repo: str, ancestor: str, rev_: str) -> bool:
    """Whether ANCESTOR is REV_ or one of its ancestors (an unknown commit is not)."""
    return (
        run(["merge-base", "--is-ancestor", ancestor, rev_], cwd=repo, check=False).returncode == 0
    )


def swap_ref(repo: str, ref: str, new: str, old: str) -> bool:
    """Compare-and-swap REF from OLD to NEW; False if it moved meanwhile."""
    return run(["update-ref", ref, new, old], cwd=repo, check=False).returncode == 0
