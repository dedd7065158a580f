"""Idle polecats, reaped: retired after `[scheduler] idle_retire_seconds` idle, their
name freed and their worktree removed — only when nothing in it is uncommitted.

The check runs on the adapters' thread (`git status` in each candidate's worktree); a
polecat with uncommitted work is kept, idle, and reported each round, so a person can see
it and rescue the work (its worktree is never removed under it). A clean one is retired
and its worktree removed by its dispatcher (its commits stay on its branch; the removal
checks again, under the repository's lock, and commits anything that appeared since).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, NamedTuple

from engine import vocab
from engine.deacon.patrol import Finding, Patrol, PatrolContext
from engine.upstream import local_clone

if TYPE_CHECKING:
    from engine.deacon.settings import DeaconSettings
    from engine.records import Agent


class IdlePolecat(NamedTuple):
    agent: Agent
    repo: str  # its rig's repository ("" when the rig is gone)
    dirty: bool = False


def uncommitted(path: str | None) -> bool:
    """Whether the worktree holds anything uncommitted (a missing one holds nothing)."""
    if not path or not os.path.isdir(path):
        return False
    from engine.adapters import git

    with git.opened(path) as wt:
        return wt.is_dirty()


class ReaperPatrol(Patrol):
    name = "reaper"
    title = "idle polecats"

    def interval(self, settings: DeaconSettings) -> float:
        return settings.reap_every_seconds

    def look(self, ctx: PatrolContext) -> list[IdlePolecat]:
        window = ctx.config.scheduler.idle_retire_seconds
        out = []
        for a in ctx.ledger.agents.list(host=ctx.host):  # a host reaps its own polecats
            if a["status"] != vocab.AGENT_IDLE or a["hook"]:
                continue
            if ctx.now - (a["idle_since"] or ctx.now) < window:
                continue
            rig = ctx.ledger.rigs.get(a["rig"])
            # this host's clone (engine/upstream.py), not the path the adding town recorded
            out.append(IdlePolecat(a, local_clone(ctx.town, a["rig"]) if rig else ""))
        return out

    def work(self, ctx: PatrolContext, looked: list[IdlePolecat]) -> list[IdlePolecat]:
        return [p._replace(dirty=uncommitted(p.agent["worktree"])) for p in looked]

    def act(self, ctx: PatrolContext, worked: list[IdlePolecat]) -> list[Finding]:
        ledger = ctx.ledger
        found = []
        for p in worked:
            a = p.agent
            if p.dirty:
                found.append(
                    Finding(
                        a["name"],
                        f"{a['name']} kept: uncommitted work in {a['worktree']}",
                        problem=True,
                    )
                )
                continue
            with ledger.transaction():
                now = ledger.agents.get(a["id"])
                if now is None or now["status"] != vocab.AGENT_IDLE or now["hook"]:
                    continue  # given work since we looked
                ledger.agents.retire(a["id"], reason="idle")
                ledger.state.record_event(
                    "polecat_reaped",
                    actor="deacon",
                    data={"agent": a["id"], "worktree": a["worktree"]},
                )
            self.release(ctx, p)
            found.append(Finding(a["name"], f"{a['name']} reaped after idling"))
        return found

    def release(self, ctx: PatrolContext, p: IdlePolecat) -> None:
        """Its session and worktree go; its branch (and so its work) stays."""
        if ctx.dispatcher is not None:
            ctx.dispatcher.on_retire(p.agent)
        elif p.repo and p.agent["worktree"]:
            from engine.polecats import worktrees

            worktrees.remove_if_safe(p.repo, p.agent["worktree"])


PATROL = ReaperPatrol()
