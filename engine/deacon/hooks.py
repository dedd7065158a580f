"""Hooks whose agent is gone: the bead goes back to the queue after the window.

Gone means: a bead hooked (or in progress) that no live agent holds any more (its agent
was retired by hand, or vanished), or held by a zombie (its session ended) that the
scheduler could not recover. Such a bead would wait forever; after `hook_gone_seconds`
(measured from the bead's, or the zombie's, last change) it is released: unhooked,
back to open and still slung, so the scheduler starts it again. The release is not a
failed attempt: the bead did nothing wrong. A parked bead is left alone (a person holds it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from engine import vocab
from engine.deacon.patrol import Finding, Patrol, PatrolContext
from engine.timeutil import parse_iso

if TYPE_CHECKING:
    from engine.deacon.settings import DeaconSettings
    from engine.ledger import Ledger

HELD = (vocab.HOOKED, vocab.IN_PROGRESS)


class GoneHook(NamedTuple):
    bead_id: str
    agent: str  # the agent that held it ("" when none does)
    since: float  # when it was last seen changing
    status: str  # the bead's status when looked at
    why: str


def gone_hooks(ledger: Ledger) -> list[GoneHook]:
    from engine.scheduler.parking import parked

    held = parked(ledger)
    holders = {a["hook"]: a for a in ledger.agents.list() if a["hook"]}
    out = []
    for status in HELD:
        for bead in ledger.beads.list(status=status, include_records=False, limit=1000):
            bid = bead["id"]
            if bid in held:
                continue
            agent = holders.get(bid)
            if agent is None:
                out.append(
                    GoneHook(
                        bid,
                        bead["assignee"] or "",
                        parse_iso(bead["updated_at"]),
                        status,
                        f"its agent {bead['assignee'] or '(none)'} no longer holds it",
                    )
                )
            elif agent["status"] == vocab.AGENT_ZOMBIE:
                out.append(
                    GoneHook(
                        bid,
                        agent["id"],
                        parse_iso(agent["updated_at"]),
                        status,
                        f"its agent {agent['name']}'s session is gone",
                    )
                )
    return out


class HooksPatrol(Patrol):
    name = "hooks"
    title = "hooks of gone agents"

    def interval(self, settings: DeaconSettings) -> float:
        return settings.hooks_every_seconds

    def look(self, ctx: PatrolContext) -> list[GoneHook]:
        window = ctx.settings.hook_gone_seconds
        return [g for g in gone_hooks(ctx.ledger) if ctx.now - g.since >= window]

    def act(self, ctx: PatrolContext, worked: list[GoneHook]) -> list[Finding]:
        ledger = ctx.ledger
        found = []
        for g in worked:
            reason = f"released by the deacon: {g.why}"
            with ledger.transaction(durable=True):
                bead = ledger.beads.get(g.bead_id)
                if bead is None or bead["status"] != g.status:
                    continue  # it moved since we looked
                ledger.agents.release_hooked_to(g.bead_id, reason=reason)
                ledger.beads.set_status(
                    g.bead_id,
                    vocab.OPEN,
                    actor="deacon",
                    kind="hook_released",
                    data={"reason": reason, "agent": g.agent or None},
                    fields={"assignee": None},
                )
            found.append(Finding(g.bead_id, f"{g.bead_id} back in the queue: {g.why}"))
        return found


PATROL = HooksPatrol()
