"""The git adapter: every git command of the project runs here.

No shell, `--` before user-supplied arguments, no terminal prompts, and git's own error
turned into one readable line.
"""

from __future__ import annotations

import os
import subprocess

from engine.errors import GtError

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


def clone(source: str, dest: str, *, progress: bool = False) -> None:
    """Clone SOURCE (a path or URL) into DEST. Progress goes to the terminal when asked."""
    args = ["clone", "--quiet", "--", source, dest]
    if progress:
        args = ["clone", "--progress", "--", source, dest]
    run(args, capture=not progress, timeout=3600)
    if progress and not os.path.isdir(os.path.join(dest, ".git")):
        raise GitError(f"git clone of {source} failed")


def is_repository(path: str) -> bool:
    proc = run(["rev-parse", "--git-dir"], cwd=path, check=False)
    return proc.returncode == 0


def default_branch(repo: str) -> str:
    proc = run(["symbolic-ref", "--short", "HEAD"], cwd=repo, check=False)
    return proc.stdout.strip() or "main"
