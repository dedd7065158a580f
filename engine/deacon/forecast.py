"""The conflict forecast: live polecat branches test-merged before the refinery sees them.

Every `[deacon] forecast_seconds`, each live branch of a rig (a hooked polecat's, or one
waiting in the merge queue) is merged in git's object store only (`git merge-tree`, no
worktree touched) with the rig's target branch and with every other live branch of the
rig. A predicted conflict is kept in the ledger (town_state, key `forecast.<rig>`), shown
on both beads and agents in the app, mailed to both agents once per pair and set of files,
and the refinery lands the smaller change of the pair first (`smaller_first`).

Three steps on the engine's threads, as every patrol: `look` (the ledger's thread: which
branches are live), `work` (the adapters' thread: git only, never the ledger), `act` (the
ledger's thread: store, mail). Cost: a pair is merged again only when one of its heads
moved (the target's included), and a branch with no commits of its own is merged with
nothing.
"""

from __future__ import annotations

import os
from itertools import combinations
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from engine.deacon.patrol import Finding, Patrol, PatrolContext
from engine.safetext import visible

if TYPE_CHECKING:
    from collections.abc import Sequence

    from engine.adapters.git import Repository
    from engine.deacon.settings import DeaconSettings
    from engine.ledger import Ledger
    from engine.records import QueuedMergeRequest

NAME = "forecast"
KEY = "forecast."  # + the rig's name: that rig's forecast in town_state
TARGET = ""  # the `other` of a pair that is the rig's target branch
SENDER = "deacon"
# The merge queue's states whose branch has not landed yet: still live for the forecast.
WAITING = ("queued", "testing", "landing", "awaiting_approval")


class LiveBranch(NamedTuple):
    bead: str
    branch: str
    commit: str | None  # a queued request's commit; None: the branch's head, read by `work`
    agent: str | None  # whom a predicted conflict is mailed to


class RigLook(NamedTuple):
    rig: str
    repo: str
    branches: list[LiveBranch]
    known: RigForecast  # what the last forecast found (heads, sizes, pairs)


class BranchState(TypedDict):
    branch: str
    head: str
    size: int  # lines its own commits add and remove


class PairState(TypedDict):
    a: str
    b: str  # TARGET for the rig's target branch
    heads: list[str]  # [a's head, b's head] when they were merged
    files: list[str]  # the files the merge leaves in conflict ([]: it merges cleanly)
    mailed: list[list[str]]  # each set of files its agents were told about


class RigForecast(TypedDict):
    target: str
    target_head: str
    branches: dict[str, BranchState]
    pairs: dict[str, PairState]


class RigWork(NamedTuple):
    look: RigLook
    forecast: RigForecast
    merges: int  # `git merge-tree` calls made
    sizes: int  # `git diff` calls made (a moved branch's size)
    error: str | None = None


class Conflict(NamedTuple):
    rig: str
    bead: str
    other: str  # TARGET: the rig's target branch
    files: list[str]


class Outcome(NamedTuple):
    """One forecast: the conflicts it predicts and what it cost."""

    conflicts: list[Conflict]
    merges: int  # `git merge-tree` calls
    sizes: int  # `git diff` calls
    mailed: int
    errors: list[str]


def empty() -> RigForecast:
    return {"target": "", "target_head": "", "branches": {}, "pairs": {}}


def pair_key(a: str, b: str) -> str:
    return f"{a}|{b}"


def describe(c: Conflict) -> str:
    files = visible(", ".join(c.files[:5]) + (" …" if len(c.files) > 5 else ""))
    if c.other == TARGET:
        return f"{c.bead} conflicts with the target branch in {files}"
    return f"{c.bead} and {c.other} both change {files}"


# ---- look: the ledger's thread ----------------------------------------------------------


def look(ledger: Ledger) -> list[RigLook]:
    """Every rig's live branches: hooked polecats' and those waiting in the merge queue."""
    out = []
    agents = [a for a in ledger.agents.list() if a["hook"] and a["branch"]]
    waiting = ledger.mq.list(states=WAITING)
    for rig in ledger.rigs.list():
        name = rig["name"]
        live: dict[str, LiveBranch] = {}
        for a in agents:
            # a polecat just hooked still names its last bead's branch until it starts
            if a["rig"] == name and a["hook"] and str(a["branch"]).endswith("/" + a["hook"]):
                live[a["hook"]] = LiveBranch(a["hook"], str(a["branch"]), None, a["id"])
        for mr in waiting:
            if mr["rig"] == name:  # what lands is the request's commit, not the branch now
                live[mr["source_bead"]] = LiveBranch(
                    mr["source_bead"], mr["branch"], mr["commit"], mr["agent"]
                )
        out.append(RigLook(name, rig["path"], sorted(live.values()), known(ledger, name)))
    return out


def known(ledger: Ledger, rig: str) -> RigForecast:
    stored = ledger.state.get(KEY + rig)
    return stored if isinstance(stored, dict) else empty()  # type: ignore[return-value]


# ---- work: the adapters' thread (git only) ----------------------------------------------


def work(looks: Sequence[RigLook]) -> list[RigWork]:
    return [work_rig(rl) for rl in looks]


def work_rig(rl: RigLook) -> RigWork:
    from engine.adapters import git
    from engine.errors import GtError
    from engine.polecats import worktrees

    if not rl.branches or not os.path.isdir(rl.repo):  # no clone on disk: nothing to merge
        return RigWork(rl, empty(), 0, 0)
    try:
        target = worktrees.main_ref(rl.repo)
        with git.opened(rl.repo) as r:
            return _merge_all(rl, r, target)
    except GtError as exc:  # a rig whose clone is broken: the others still get forecast
        return RigWork(rl, rl.known, 0, 0, f"{rl.rig}: the forecast failed: {exc}")


def _merge_all(rl: RigLook, r: Repository, target: str) -> RigWork:
    from engine.polecats import worktrees

    before = rl.known
    target_head = r.ref_commit(f"refs/heads/{target}") or ""
    bases = r.refs(worktrees.base_ref(""))  # each branch's starting commit, one read
    sizes_run = 0
    branches: dict[str, BranchState] = {}
    for lb in rl.branches:
        head = lb.commit or r.ref_commit(f"refs/heads/{lb.branch}")
        if not head:
            continue  # the branch is not there (yet): nothing to merge
        old = before["branches"].get(lb.bead)
        if old and old["head"] == head:
            size = old["size"]
        elif head == bases.get(lb.branch) or head == target_head:
            size = 0  # no commits of its own yet
        else:
            size = r.change_size(target_head, head)
            sizes_run += 1
        branches[lb.bead] = {"branch": lb.branch, "head": head, "size": size}
    working = sorted(b for b, s in branches.items() if s["size"] > 0)
    wanted = [(b, TARGET) for b in working] + list(combinations(working, 2))
    pairs: dict[str, PairState] = {}
    merges = 0
    for a, b in wanted:
        heads = [branches[a]["head"], branches[b]["head"] if b else target_head]
        old_pair = before["pairs"].get(pair_key(a, b))
        if old_pair and old_pair["heads"] == heads:
            files = old_pair["files"]  # neither head moved: the answer cannot have changed
        else:
            files = r.merge_conflicts(*heads)
            merges += 1
        mailed = old_pair["mailed"] if old_pair else []
        pairs[pair_key(a, b)] = {"a": a, "b": b, "heads": heads, "files": files, "mailed": mailed}
    forecast: RigForecast = {
        "target": target,
        "target_head": target_head,
        "branches": branches,
        "pairs": pairs,
    }
    return RigWork(rl, forecast, merges, sizes_run)


# ---- act: the ledger's thread -----------------------------------------------------------


def act(ledger: Ledger, done: Sequence[RigWork]) -> Outcome:
    """Store each rig's forecast and mail each new conflict to its agents, together."""
    conflicts: list[Conflict] = []
    errors: list[str] = []
    mailed = 0
    with ledger.transaction(durable=True):
        for rw in done:
            if rw.error:
                errors.append(rw.error)
            agents = {lb.bead: lb.agent for lb in rw.look.branches}
            for p in rw.forecast["pairs"].values():
                if not p["files"]:
                    continue
                c = Conflict(rw.look.rig, p["a"], p["b"], p["files"])
                conflicts.append(c)
                if sorted(p["files"]) not in p["mailed"]:
                    mailed += _mail(ledger, rw.forecast, c, agents)
                    p["mailed"].append(sorted(p["files"]))
            if rw.forecast != known(ledger, rw.look.rig):
                ledger.state.put(KEY + rw.look.rig, rw.forecast)
    merges = sum(rw.merges for rw in done)
    return Outcome(conflicts, merges, sum(rw.sizes for rw in done), mailed, errors)


def _mail(ledger: Ledger, fc: RigForecast, c: Conflict, agents: dict[str, str | None]) -> int:
    files = visible(", ".join(c.files))
    target = visible(fc["target"])
    sent = 0
    sides = [(c.bead, c.other)] + ([(c.other, c.bead)] if c.other != TARGET else [])
    for mine, theirs in sides:
        to = agents.get(mine)
        if not to:
            continue
        branch = visible(fc["branches"][mine]["branch"])
        if theirs == TARGET:
            subject = f"Conflict forecast: {mine} conflicts with {target} in {files}"
            body = (
                f"Your branch {branch} ({mine}) no longer merges cleanly with {target}: git "
                f"predicts a conflict in {files}. Rebase onto {target} and resolve it before "
                "`gt done`, or the refinery will send the work back."
            )
        else:
            other = ledger.beads.get(theirs)
            title = visible(other["title"]) if other else theirs
            size, their_size = (fc["branches"][x]["size"] for x in (mine, theirs))
            first = mine if (size, mine) < (their_size, theirs) else theirs
            subject = f"Conflict forecast: {mine} and {theirs} both change {files}"
            body = (
                f"Your branch {branch} ({mine}) and {theirs} ({title}) cannot both land as "
                f"they stand: git predicts a conflict in {files}. The refinery lands the "
                f"smaller change first ({first}); "
                + (
                    "yours is the smaller: finish it as it is."
                    if first == mine
                    else f"after {theirs} lands, rebase onto {target} and resolve the conflict."
                )
            )
        ledger.mail.deliver(sender=SENDER, to=to, subject=subject, body=body)
        sent += 1
    return sent


# ---- what others read: the refinery's order, the app's marks ----------------------------


def conflicts_by_bead(ledger: Ledger) -> dict[str, list[Conflict]]:
    """Each bead's predicted conflicts (both sides of a pair), for the app and `gt`."""
    out: dict[str, list[Conflict]] = {}
    for rig in ledger.rigs.list():
        for p in known(ledger, rig["name"])["pairs"].values():
            if p["files"]:
                out.setdefault(p["a"], []).append(Conflict(rig["name"], p["a"], p["b"], p["files"]))
                if p["b"] != TARGET:
                    out.setdefault(p["b"], []).append(
                        Conflict(rig["name"], p["b"], p["a"], p["files"])
                    )
    return out


def marks(ledger: Ledger) -> dict[str, list[dict[str, Any]]]:
    """The app's marks: for each bead with a predicted conflict, the other side (a bead,
    or "" for the target branch) and the files, as plain data."""
    return {
        bead: [{"other": c.other, "files": c.files} for c in found]
        for bead, found in conflicts_by_bead(ledger).items()
    }


def smaller_first(queue: list[QueuedMergeRequest], fc: RigForecast) -> list[QueuedMergeRequest]:
    """The queue with each predicted-conflicting pair in it ordered smaller change first:
    the smaller lands, the larger is sent back to rebase on it (less work to redo)."""
    sizes = {b: s["size"] for b, s in fc["branches"].items()}
    pairs = [(p["a"], p["b"]) for p in fc["pairs"].values() if p["files"] and p["b"] != TARGET]
    order = list(queue)
    # a few passes settle any chain of pairs; each move only puts a smaller change earlier
    for _ in range(len(pairs) + 1):
        moved = False
        for a, b in pairs:
            pos = {m["source_bead"]: i for i, m in enumerate(order)}
            if a not in pos or b not in pos:
                continue
            small, large = sorted((a, b), key=lambda x: (sizes.get(x, 0), x))
            if sizes.get(small, 0) < sizes.get(large, 0) and pos[small] > pos[large]:
                order.insert(pos[large], order.pop(pos[small]))
                moved = True
        if not moved:
            break
    return order


def order_queue(
    ledger: Ledger, rig: str, queue: list[QueuedMergeRequest]
) -> list[QueuedMergeRequest]:
    """The refinery's hook: its queue, predicted conflicts ordered smaller first."""
    return smaller_first(queue, known(ledger, rig)) if len(queue) > 1 else queue


# ---- the patrol (engine/deacon/rounds.py runs it) ---------------------------------------


class ConflictForecast(Patrol):
    name = NAME
    title = "conflict forecast"

    def interval(self, settings: DeaconSettings) -> float:
        return settings.forecast_seconds

    def look(self, ctx: PatrolContext) -> list[RigLook]:
        return look(ctx.ledger)

    def work(self, ctx: PatrolContext, looked: list[RigLook]) -> list[RigWork]:
        return work(looked)

    def act(self, ctx: PatrolContext, worked: list[RigWork]) -> list[Finding]:
        out = act(ctx.ledger, worked)
        found = [Finding(c.bead, f"{c.rig}: {describe(c)}") for c in out.conflicts]
        return found + [Finding(NAME, e) for e in out.errors]


PATROL = ConflictForecast()
