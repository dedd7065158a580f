"""engine/views/diffs.py on real git: a merge request's and a polecat's diff against main.

The rig is a real clone (tests/conftest.py RealTown); the work is a real polecat branch
(submit_work) or a real worktree with committed, uncommitted and untracked changes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from engine.errors import GtError
from engine.scheduler.names import next_name
from engine.views import diffs
from tests.conftest import RealTown, git_out, submit_work


def advance_main(repo: str, name: str, text: str) -> None:
    """Land a commit on the rig's main directly: what main gains after the work began."""
    wt = tempfile.mkdtemp(prefix="main-")
    os.rmdir(wt)
    git_out(repo, "worktree", "add", "-q", "--detach", wt, "main")
    Path(wt, name).write_text(text)
    git_out(wt, "add", "-A")
    git_out(wt, "-c", "user.name=m", "-c", "user.email=m@m", "commit", "-q", "-m", "main moves")
    git_out(repo, "update-ref", "refs/heads/main", git_out(wt, "rev-parse", "HEAD"))
    git_out(repo, "worktree", "remove", "--force", wt)


def polecat_worktree(rt: RealTown, tmp_path: Path) -> tuple[str, str]:
    """A polecat at work: one commit on its branch, one uncommitted edit, one new file.
    Returns (agent id, worktree)."""
    ledger = rt.ledger
    repo = ledger.rigs.require("web")["path"]
    bead = ledger.beads.create("add a page", rig="web", slung=True)["id"]
    with ledger.transaction():
        agent = ledger.agents.allocate("web", next_name(ledger.agents.live_names()), "script")
        attempt = ledger.agents.assign(agent, bead, rig="web")
    branch = f"polecat/{agent['name']}/{bead}"
    wt = str(tmp_path / "wt")
    git_out(repo, "worktree", "add", "-q", "-b", branch, wt, "main")
    Path(wt, "page.html").write_text("<h1>Page</h1>\n")
    git_out(wt, "add", "-A")
    git_out(wt, "-c", "user.name=p", "-c", "user.email=p@p", "commit", "-q", "-m", "page")
    Path(wt, "README.md").write_text("# demo\nnow with a page\n")  # not committed
    Path(wt, "notes [red]x.txt").write_text("a\nb\nc\n")  # not even added
    ledger.agents.mark_started(agent["id"], bead, attempt, worktree=wt, branch=branch)
    return agent["id"], wt


def test_a_merge_requests_diff_is_its_work_against_main_not_mains_news(real_town):
    rt = real_town
    repo = rt.ledger.rigs.require("web")["path"]
    _, mr = submit_work(
        rt, "add calc", {"calc.py": "def add(a, b):\n    return a + b\n", "README.md": "# x\n"}
    )
    advance_main(repo, "LICENSE", "MIT\n")  # main's news: not the merge request's work

    summary = diffs.summarize(diffs.source_of_mr(rt.ledger, mr))
    files = {f["path"]: (f["added"], f["removed"]) for f in summary["files"]}
    assert files == {"README.md": (1, 1), "calc.py": (2, 0)}
    assert summary["stat"].startswith("2 files changed, +3 -1 against main (")
    assert summary["more_files"] == 0

    calc = next(f for f in summary["files"] if f["path"] == "calc.py")
    patch = diffs.patch(summary["target"], calc)
    assert "+def add(a, b):" in patch["text"] and patch["more_lines"] == 0


def test_a_polecats_diff_shows_committed_uncommitted_and_new_files(real_town, tmp_path):
    rt = real_town
    agent, _ = polecat_worktree(rt, tmp_path)
    summary = diffs.summarize(diffs.source_of_agent(rt.ledger, agent))
    files = {f["path"]: (f["added"], f["removed"], f["untracked"]) for f in summary["files"]}
    assert files == {
        "README.md": (1, 0, False),
        "notes [red]x.txt": (3, 0, True),
        "page.html": (1, 0, False),
    }
    assert "uncommitted work included" in summary["stat"]
    new = next(f for f in summary["files"] if f["untracked"])
    assert "+b" in diffs.patch(summary["target"], new)["text"]


def test_a_long_file_diff_is_cut_with_a_marker(real_town):
    rt = real_town
    _, mr = submit_work(rt, "big", {"big.txt": "".join(f"line {i}\n" for i in range(5000))})
    summary = diffs.summarize(diffs.source_of_mr(rt.ledger, mr))
    patch = diffs.patch(summary["target"], summary["files"][0], max_lines=100)
    lines = patch["text"].splitlines()
    assert len(lines) == 101
    # 5000 added lines + 6 header lines (diff --git, new file mode, index, ---, +++, @@)
    assert patch["more_lines"] == 5006 - 100
    assert lines[-1] == f"… {5006 - 100} more lines (not shown)"


def test_work_that_is_gone_is_a_one_line_error(real_town, tmp_path):
    rt = real_town
    repo = rt.ledger.rigs.require("web")["path"]
    agent, wt = polecat_worktree(rt, tmp_path)
    branch = rt.ledger.agents.require(agent)["branch"]
    git_out(repo, "worktree", "remove", "--force", wt)
    # the worktree gone, the branch still there: the branch's commits are the work
    summary = diffs.summarize(diffs.source_of_agent(rt.ledger, agent))
    assert [f["path"] for f in summary["files"]] == ["page.html"]
    git_out(repo, "branch", "-D", branch)
    with pytest.raises(GtError) as err:
        diffs.summarize(diffs.source_of_agent(rt.ledger, agent))
    assert "worktree is missing" in err.value.message and "is gone" in err.value.message
    assert "\n" not in err.value.message
