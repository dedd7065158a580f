"""The git adapter on GitPython: every Repo is closed, so a long-running engine collects no
`git cat-file --batch` processes and no open files.

The leak test drives the adapter-level operations the engine makes per bead (a full
engine cycle costs a tmux session and a gate run each, ~10x slower): a reused polecat's
worktree switched to a new branch (`worktrees.ensure`), the agent's commit, then the
refinery's reads and landing on its own worktree (`Workspace`: recorded bases, changed
paths, stack, landing commit, compare-and-swap, contains, branch deletion)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.adapters import git
from engine.polecats import worktrees
from engine.refinery.workspace import Candidate, Workspace
from tests.conftest import git_out, make_source_repo

IDENT = ["-c", "user.name=t", "-c", "user.email=t@t"]


def children() -> list[str]:
    """This process's live child processes, by command line."""
    me = str(os.getpid())
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path("/proc", pid, "stat").read_text()
            cmdline = Path("/proc", pid, "cmdline").read_bytes()
        except OSError:
            continue
        # the fields after the command's closing parenthesis: state, ppid, ...
        if stat.rsplit(")", 1)[1].split()[1] == me:
            out.append(cmdline.replace(b"\0", b" ").decode(errors="replace").strip())
    return out


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def one_cycle(repo: str, polecats: str, ws: Workspace, i: int) -> None:
    """One bead: dispatched to the same polecat, worked, landed by the refinery."""
    path, branch = worktrees.ensure(repo, polecats, "Toast", f"gt-{i}")
    Path(path, f"f{i}.txt").write_text(f"work {i}\n")
    git_out(path, "add", "-A")
    git_out(path, *IDENT, "commit", "-q", "-m", f"work {i}")
    commit = git_out(path, "rev-parse", "HEAD")

    ws.ensure()
    base = worktrees.recorded_bases(repo)[branch]
    assert ws.changed_paths(commit) == [f"f{i}.txt"]
    tip = ws.tip()
    stacked, conflicts, reverts = ws.stack(tip, [Candidate(f"gt-{i}", commit, "work", base)])
    assert [c.id for c in stacked] == [f"gt-{i}"] and not conflicts and not reverts
    assert ws.advance(ws.landing_commit(tip, stacked), tip)
    assert ws.contains(commit)
    ws.delete_branch(branch)  # checked out by the polecat: stays, deleted at its next switch


@pytest.fixture
def rig(tmp_path: Path) -> tuple[str, str, Workspace]:
    repo = str(make_source_repo(tmp_path / "repo"))
    git_out(repo, "checkout", "-q", "--detach")  # as `gt rig add` leaves the clone
    ws = Workspace(repo, str(tmp_path / "refinery"), str(tmp_path / "hooks"))
    return repo, str(tmp_path / "polecats"), ws


def test_an_open_repository_has_cat_file_processes_and_closing_ends_them(rig) -> None:
    # What the leak test counts is real: reads through a Repo start `git cat-file`.
    repo, _, _ = rig
    before = children()
    with git.opened(repo) as r:
        assert r.resolve("main") == git_out(repo, "rev-parse", "main")
        assert r.branch_exists("main") and not r.branch_exists("nope")
        during = children()
    assert any("cat-file" in c for c in during if c not in before), during
    assert children() == before


@pytest.mark.slow
def test_200_dispatch_and_land_cycles_leak_no_processes_and_no_files(rig) -> None:
    repo, polecats, ws = rig
    for i in range(5):  # warm-up: one-time opens (GitPython's caches, the lock files)
        one_cycle(repo, polecats, ws, i)
    base_children, base_files = children(), open_files()
    peak_children, peak_files = 0, 0
    for i in range(5, 205):
        one_cycle(repo, polecats, ws, i)
        peak_children = max(peak_children, len(children()))
        peak_files = max(peak_files, open_files())

    assert children() == base_children == []
    assert peak_children == 0, "a cycle left git processes running"
    assert peak_files <= base_files + 3, (base_files, peak_files)
    # and the work really landed, each bead once, on a first-parent history of landings
    landed = git_out(repo, "log", "--first-parent", "--format=%s", "main").splitlines()
    assert landed[:205] == [f"Land gt-{i}" for i in range(204, -1, -1)]


def test_a_rework_starts_from_its_commit_and_measures_from_where_it_forked(rig) -> None:
    repo, polecats, _ = rig
    main = git_out(repo, "rev-parse", "main")
    path, branch = worktrees.ensure(repo, polecats, "Toast", "gt-1")
    Path(path, "a.txt").write_text("a\n")
    git_out(path, "add", "-A")
    git_out(path, *IDENT, "commit", "-q", "-m", "a")
    earlier = git_out(path, "rev-parse", "HEAD")

    path2, branch2 = worktrees.ensure(repo, polecats, "Nux", "gt-2", start=earlier)
    assert git_out(path2, "rev-parse", "HEAD") == earlier
    assert worktrees.recorded_bases(repo) == {branch: main, branch2: main}
    with (
        pytest.raises(git.GitError, match="not a git repository"),
        git.opened(str(Path(repo).parent)),
    ):
        pass


def test_uncommitted_work_is_kept_on_its_branch_when_the_polecat_moves_on(rig) -> None:
    repo, polecats, _ = rig
    path, first = worktrees.ensure(repo, polecats, "Toast", "gt-1")
    Path(path, "half.txt").write_text("half done\n")
    Path(path, ".gastown").mkdir()
    Path(path, ".gastown", "private").write_text("never committed\n")
    assert not worktrees.remove_if_safe(repo, path)  # dirty: stays

    path, second = worktrees.ensure(repo, polecats, "Toast", "gt-2")
    assert worktrees.current_branch(path) == second
    kept = git_out(repo, "show", "--stat", "--format=%s", first)
    assert "WIP preserved by Gas Town" in kept and "half.txt" in kept and ".gastown" not in kept
    assert worktrees.commits_ahead(path) == 0
    assert worktrees.remove_if_safe(repo, path) and not Path(path).exists()
