"""Stranded convoys: open and launched, yet nothing in them can move.

A convoy is stranded when none of its unfinished beads is ready (open, unblocked, slung:
the scheduler will start it, now or after its backoff), running (hooked, in progress, in
review) or blocked on work still open; what is left is failed or cancelled beads, beads
blocked only by those, parked beads and beads nobody slung. The patrol reports each once
per cause (a `convoy_stranded` event); the Problems tab shows the same list live
(engine/views/town_snapshot.py calls `stranded_convoys`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from engine import vocab
from engine.deacon.patrol import Finding, Patrol, PatrolContext

if TYPE_CHECKING:
    from engine.deacon.settings import DeaconSettings
    from engine.ledger import Ledger
    from engine.records import Bead

RUNNING = (vocab.HOOKED, vocab.IN_PROGRESS, vocab.IN_REVIEW)
STUCK = (vocab.FAILED, vocab.CANCELLED)
REPORTED = "deacon.stranded.reported"  # convoy id -> the why last reported


class StrandedConvoy(NamedTuple):
    id: str
    title: str
    why: str  # one line: each bead that cannot move, and why


def stranded_convoys(ledger: Ledger) -> list[StrandedConvoy]:
    from engine.scheduler.parking import parked

    held = parked(ledger)
    out = []
    for c in ledger.convoys.list():
        if c["status"] != vocab.CONVOY_OPEN or c["staged"] or not c["launched_at"]:
            continue
        reasons: list[str] = []
        moving = False
        for bid in c["beads"]:
            bead = ledger.beads.get(bid)
            if bead is None or bead["status"] == vocab.CLOSED:
                continue
            why = _stuck(ledger, bead, held)
            if why is None:
                moving = True
                break
            reasons.append(why)
        if reasons and not moving:
            out.append(StrandedConvoy(c["id"], c["title"], "; ".join(reasons)))
    return out


def _stuck(ledger: Ledger, bead: Bead, held: dict[str, Any]) -> str | None:
    """Why this bead cannot move, or None when it can (or is moving)."""
    bid, status = bead["id"], bead["status"]
    if status in STUCK:
        return f"{bid} {status}"
    if status in RUNNING:
        return None
    if status != vocab.OPEN:
        return f"{bid} {status}"  # an imported status the scheduler never starts
    if bid in held:
        return f"{bid} parked"
    if bead["blocked"]:
        blockers = ledger.graph.blockers(bid)
        if any(b["status"] not in STUCK for b in blockers):
            return None  # waits on work that can still finish
        named = ", ".join(f"{b['id']} {b['status']}" for b in blockers)
        return f"{bid} blocked by {named}"
    if not bead["slung"]:
        return f"{bid} not slung"
    return None


class StrandedPatrol(Patrol):
    name = "stranded"
    title = "stranded convoys"

    def interval(self, settings: DeaconSettings) -> float:
        return settings.stranded_every_seconds

    def look(self, ctx: PatrolContext) -> list[StrandedConvoy]:
        return stranded_convoys(ctx.ledger)

    def act(self, ctx: PatrolContext, worked: list[StrandedConvoy]) -> list[Finding]:
        ledger = ctx.ledger
        reported: dict[str, str] = ledger.state.get(REPORTED) or {}
        now_stranded = {s.id: s.why for s in worked}
        with ledger.transaction():
            for s in worked:
                if reported.get(s.id) != s.why:  # once per cause, not once per round
                    ledger.state.record_event(
                        "convoy_stranded", bead_id=s.id, actor="deacon", data={"why": s.why}
                    )
            if now_stranded != reported:
                ledger.state.put(REPORTED, now_stranded)
        return [Finding(s.id, f"convoy {s.title} is stranded: {s.why}") for s in worked]


PATROL = StrandedPatrol()
