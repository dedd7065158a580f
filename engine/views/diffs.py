"""Diffs for people: what a polecat's work or a merge request changes against its rig's main.

Plain data for the app's diff screen (gastown_tui/screens/diff_screen.py), in two steps so
a large diff opens as fast as a small one: `summarize` lists the files with their +/-
counts and a stat line (one `git diff --numstat`); `patch` reads one file's diff only when
it is shown, capped at MAX_PATCH_LINES with a "… N more lines" marker.

Where the work is: a polecat's worktree when it still exists (its files as they are now,
uncommitted and untracked ones included: that is what the polecat is doing), else its
branch in the rig's clone; a merge request's submitted commit (else its branch). The base
is where the work left main (the merge base), so what main gained since is not shown as
the work's. Text is returned as git wrote it: the screen makes it safe to show.

`source_of_agent` / `source_of_mr` read the ledger (the views' reader thread); `summarize`
and `patch` run git (a worker thread: never the event loop).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TypedDict

from engine.adapters import git
from engine.errors import GtError

if TYPE_CHECKING:
    from engine.ledger import Ledger

MAX_FILES = 1000  # files listed; the rest are counted ("… N more files")
MAX_UNTRACKED = 200  # untracked files of a worktree looked at
MAX_PATCH_LINES = 2000  # lines of one file's diff shown


class DiffSource(TypedDict):
    """Where a piece of work is, from the ledger."""

    title: str  # "polecat Toast (web)", "merge request gt-abc (gt-xyz)"
    repo: str  # the rig's clone
    worktree: str | None  # a polecat's worktree (used when it still exists)
    ref: str | None  # the branch or commit holding the work


class DiffTarget(TypedDict):
    title: str
    cwd: str  # where git runs: the worktree or the rig's clone
    main: str  # the rig's target branch
    base: str  # the commit the work left main at
    head: str | None  # the work's commit; None: the worktree's files as they are now


class FileStat(TypedDict):
    path: str
    added: int | None  # None: a binary file
    removed: int | None
    untracked: bool  # a new file the polecat has not added yet


class DiffSummary(TypedDict):
    target: DiffTarget
    files: list[FileStat]
    more_files: int  # files changed beyond MAX_FILES, not listed
    added: int
    removed: int
    stat: str  # "3 files changed, +42 -7 against main (1a2b3c4)"


class FilePatch(TypedDict):
    path: str
    text: str  # the unified diff, capped, ending with the marker when cut
    more_lines: int  # lines cut off


def source_of_agent(ledger: Ledger, ident: str) -> DiffSource:
    agent = ledger.agents.require(ident)
    rig = ledger.rigs.require(agent["rig"])
    return DiffSource(
        title=f"polecat {agent['name']} ({agent['rig']})",
        repo=rig["path"],
        worktree=agent["worktree"],
        ref=agent["branch"],
    )


def source_of_mr(ledger: Ledger, mr_id: str) -> DiffSource:
    mr = ledger.mq.require(mr_id)
    rig = ledger.rigs.require(mr["rig"])
    return DiffSource(
        title=f"merge request {mr['id']} ({mr['source_bead']}, {mr['branch']})",
        repo=rig["path"],
        worktree=None,
        ref=mr["commit"] or mr["branch"],
    )


def target(source: DiffSource) -> DiffTarget:
    """Where to diff and against what; a one-line GtError when the work is gone."""
    title, repo = source["title"], source["repo"]
    if not repo or not os.path.isdir(repo):
        raise GtError(f"{title}: the rig's clone is missing ({repo or 'no path'})")
    main = git.target_branch(repo)
    worktree = source["worktree"]
    if worktree and os.path.isdir(worktree):
        with git.opened(worktree) as wt:
            base = wt.merge_base(main, "HEAD")
        if not base:
            raise GtError(f"{title}: its worktree shares no history with {main}")
        return DiffTarget(title=title, cwd=worktree, main=main, base=base, head=None)
    ref = source["ref"]
    if not ref:
        raise GtError(f"{title}: no worktree and no branch: nothing to diff")
    with git.opened(repo) as r:
        head = r.resolve(ref)
        if not head:
            where = "its worktree is missing and " if worktree else ""
            raise GtError(f"{title}: {where}{ref} is gone from the rig's clone")
        base = r.merge_base(main, head)
    if not base:
        raise GtError(f"{title}: {ref} shares no history with {main}")
    return DiffTarget(title=title, cwd=repo, main=main, base=base, head=head)


def summarize(source: DiffSource) -> DiffSummary:
    """The files the work changes, with +/- counts and a stat line."""
    where = target(source)
    with git.opened(where["cwd"]) as r:
        rows = r.numstat(where["base"], where["head"])
        files = [FileStat(path=p, added=a, removed=d, untracked=False) for a, d, p in rows]
        if where["head"] is None:  # a worktree: new files not yet added are work too
            for path in r.untracked(MAX_UNTRACKED):
                lines = git.count(r.new_file_patch(path, numstat=True).partition("\t")[0])
                files.append(FileStat(path=path, added=lines, removed=0, untracked=True))
    files.sort(key=lambda f: f["path"])
    added = sum(f["added"] or 0 for f in files)
    removed = sum(f["removed"] or 0 for f in files)
    n = len(files)
    stat = (
        f"{n} file{'s' if n != 1 else ''} changed, +{added} -{removed} "
        f"against {where['main']} ({where['base'][:7]})"
        + ("; uncommitted work included" if where["head"] is None else "")
    )
    return DiffSummary(
        target=where,
        files=files[:MAX_FILES],
        more_files=max(0, n - MAX_FILES),
        added=added,
        removed=removed,
        stat=stat,
    )


def patch(where: DiffTarget, file: FileStat, max_lines: int = MAX_PATCH_LINES) -> FilePatch:
    """One file's diff, cut at MAX_LINES with a marker saying how much more there is."""
    with git.opened(where["cwd"]) as r:
        if file["untracked"]:
            text = r.new_file_patch(file["path"])
        else:
            text = r.patch(where["base"], where["head"], file["path"])
    lines = text.splitlines()
    more = max(0, len(lines) - max_lines)
    if more:
        lines = [*lines[:max_lines], f"… {more} more lines (not shown)"]
    if not lines:
        lines = ["(no textual change)"]
    return FilePatch(path=file["path"], text="\n".join(lines), more_lines=more)
