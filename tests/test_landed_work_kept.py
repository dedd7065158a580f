"""Landed work is never silently reverted.

The defect: a reused polecat switched branch with `git checkout -b BRANCH main`. Git moves
the files to what `main` points at, then resolves the name again to create the branch; a
landing in between left the branch on the new main and the files on the old one, and the
agent's `git add -A` committed the newly landed files as deletions, which then landed.

The race is made deterministic with real git: a smudge filter on a file the switch must
write moves main while git is half-way through the checkout.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from engine.polecats import worktrees
from tests.conftest import git_out, make_source_repo, submit_work
from tests.test_refinery import drain
from tests.test_refinery import gated as gated  # the fixture

IDENT = ["-c", "user.name=t", "-c", "user.email=t@t"]


def commit_file(repo: str, name: str, text: str, parent: str, message: str) -> str:
    """A commit on top of `parent` adding one file, made without touching any checkout."""
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=repo,
        input=text,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    index = Path(repo, ".git", f"tmp-index-{message}")
    env = {"GIT_INDEX_FILE": str(index)}
    run = lambda *a: subprocess.run(  # noqa: E731
        ["git", *a], cwd=repo, env={**_env(), **env}, capture_output=True, text=True, check=True
    ).stdout.strip()
    run("read-tree", parent)
    run("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}")
    tree = run("write-tree")
    index.unlink()
    return git_out(repo, *IDENT, "commit-tree", tree, "-p", parent, "-m", message)


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def move_main_during_checkout_of(repo: str, path: str, old: str, new: str) -> None:
    """While git writes `path` into any checkout, main moves from `old` to `new` (once)."""
    Path(repo, ".git", "info").mkdir(exist_ok=True)
    Path(repo, ".git", "info", "attributes").write_text(f"{path} filter=race\n")
    git_out(
        repo,
        "config",
        "filter.race.smudge",
        f"sh -c 'git update-ref refs/heads/main {new} {old} 2>/dev/null; cat'",
    )


def test_a_reused_polecat_switches_to_a_branch_whose_files_match_its_commit(tmp_path):
    repo = str(make_source_repo(tmp_path / "repo"))
    git_out(repo, "checkout", "-q", "--detach")
    polecats = str(tmp_path / "polecats")
    path, _ = worktrees.ensure(repo, polecats, "Toast", "gt-1")
    a = git_out(repo, "rev-parse", "main")
    b = commit_file(repo, "landed-b.txt", "b\n", a, "land b")
    git_out(repo, "update-ref", "refs/heads/main", b, a)
    c = commit_file(repo, "landed-c.txt", "c\n", b, "land c")
    move_main_during_checkout_of(repo, "landed-b.txt", b, c)

    path, branch = worktrees.ensure(repo, polecats, "Toast", "gt-2")

    assert git_out(repo, "rev-parse", "main") == c, "the landing really raced the switch"
    status = git_out(path, "status", "--porcelain")
    assert status == "", f"the files are out of step with the branch: {status!r}"
    start = git_out(path, "rev-parse", "HEAD")
    assert start == b, "the branch starts where its files came from"
    assert worktrees.recorded_bases(repo).get(branch) == b
    # The agent's `git add -A` now commits only its own work.
    Path(path, "mine.txt").write_text("mine\n")
    git_out(path, "add", "-A")
    git_out(path, *IDENT, "commit", "-q", "-m", "mine")
    assert git_out(path, "show", "--name-status", "--format=", "HEAD").split() == ["A", "mine.txt"]


def test_a_new_polecat_worktree_starts_from_one_resolved_commit(tmp_path):
    repo = str(make_source_repo(tmp_path / "repo", {"README.md": "r\n", "big.txt": "x\n"}))
    git_out(repo, "checkout", "-q", "--detach")
    a = git_out(repo, "rev-parse", "main")
    b = commit_file(repo, "landed-b.txt", "b\n", a, "land b")
    move_main_during_checkout_of(repo, "big.txt", a, b)

    path, branch = worktrees.ensure(repo, str(tmp_path / "polecats"), "Maple", "gt-9")

    assert git_out(path, "status", "--porcelain") == ""
    assert git_out(path, "rev-parse", "HEAD") == worktrees.recorded_bases(repo).get(branch)


def test_the_refinery_refuses_a_request_that_would_revert_work_landed_after_its_base(
    gated, tmp_path
):
    rt, refinery = gated()
    repo = rt.ledger.rigs.require("web")["path"]
    _, landed_mr = submit_work(rt, "landed first", {"landed.txt": "landed\n"})
    base = git_out(repo, "rev-parse", "main")
    drain(refinery)
    assert rt.ledger.mq.get(landed_mr)["state"] == "landed"
    tip = git_out(repo, "rev-parse", "main")
    # A branch whose history sits on the new tip but whose files are the old base's plus
    # its own: exactly what the raced checkout produced.
    bead, mr = submit_work(rt, "raced", {"raced.txt": "mine\n"}, base=base)
    branch = rt.ledger.mq.get(mr)["branch"]
    own = rt.ledger.mq.get(mr)["commit"]
    tree = git_out(repo, "rev-parse", f"{own}^{{tree}}")
    raced = git_out(repo, *IDENT, "commit-tree", tree, "-p", tip, "-m", "raced")
    git_out(repo, "update-ref", f"refs/heads/{branch}", raced)
    worktrees.record_base(repo, branch, base)
    rt.ledger.mq.requeue_rebased(mr, raced)

    drain(refinery)

    assert git_out(repo, "show", "main:landed.txt") == "landed"
    state = rt.ledger.mq.get(mr)
    assert state["state"] == "rejected"
    assert "landed.txt" in state["failure"]
    assert rt.ledger.beads.get(bead)["status"] == "failed"
    assert any("landed.txt" in m["body"] for m in rt.ledger.mail.inbox(["mayor"]))
    assert git_out(repo, "rev-parse", f"refs/heads/{branch}") == raced, "the work is kept"


def test_a_request_that_merged_main_itself_still_lands(gated):
    rt, refinery = gated()
    repo = rt.ledger.rigs.require("web")["path"]
    base = git_out(repo, "rev-parse", "main")
    submit_work(rt, "first", {"first.txt": "1\n"})
    drain(refinery)
    _, mr = submit_work(rt, "second", {"second.txt": "2\n"}, base=base)
    branch = rt.ledger.mq.get(mr)["branch"]
    worktrees.record_base(repo, branch, base)
    # The agent merged main into its branch before finishing: not a revert.
    wt = str(Path(repo).parent / "wt-merge")
    git_out(repo, "worktree", "add", "-q", wt, branch)
    git_out(wt, *IDENT, "merge", "-q", "--no-edit", "main")
    merged = git_out(wt, "rev-parse", "HEAD")
    git_out(repo, "worktree", "remove", "--force", wt)
    rt.ledger.mq.requeue_rebased(mr, merged)
    drain(refinery)
    assert rt.ledger.mq.get(mr)["state"] == "landed"
    assert git_out(repo, "show", "main:first.txt") == "1"
    assert git_out(repo, "show", "main:second.txt") == "2"
