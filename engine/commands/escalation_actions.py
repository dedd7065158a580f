"""A person (or agent) dealing with escalations: list, show, acknowledge, close.

Acknowledging says "someone has it": the ladder (engine/escalation_ladder.py) stops raising
it, and it stays open until closed. Closing ends it; the same cause raised later files a
new one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from engine.errors import NotFound, UsageError

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.records import Bead


def summary(esc: Bead) -> dict[str, Any]:
    """One escalation as `gt escalate list --json` prints it (json_schemas: EscalationRow)."""
    meta = esc["metadata"]
    return {
        "id": esc["id"],
        "title": esc["title"],
        "status": esc["status"],
        "severity": str(meta.get("severity") or "medium"),
        "count": int(meta.get("count") or 1),
        "raises": int(meta.get("raises") or 0),
        "cause": meta.get("cause"),
        "source": meta.get("source"),
        "rig": meta.get("rig"),
        "acked_by": meta.get("acked_by"),
        "acked_at": meta.get("acked_at"),
        "created_at": esc["created_at"],
        "created_by": esc["created_by"],
    }


def require(ledger: Ledger, esc_id: str) -> Bead:
    bead = ledger.beads.get(esc_id)
    if bead is None or bead["type"] != "escalation":
        raise NotFound(f"no escalation {esc_id}")
    return bead


def listing(ledger: Ledger, *, include_closed: bool = False) -> list[dict[str, Any]]:
    """Open escalations (all with INCLUDE_CLOSED), most urgent first."""
    status = None if include_closed else "open"
    return [summary(b) for b in ledger.beads.list(bead_type="escalation", status=status)]


def show(ledger: Ledger, esc_id: str) -> dict[str, Any]:
    """One escalation with its body and its ladder's history (filed, counted, raised, acked)."""
    esc = require(ledger, esc_id)
    kinds = ("escalation_filed", "escalation_repeated", "escalation_raised", "escalation_acked")
    history = [
        {"at": e["at"], "kind": e["kind"], "actor": e["actor"], "data": e["data"]}
        for e in ledger.beads.history(esc_id)
        if e["kind"] in (*kinds, "closed")
    ]
    return {**summary(esc), "body": esc["body"], "history": history}


class Acknowledged(NamedTuple):
    id: str
    record: dict[str, Any]  # summary(): what `gt escalate ack --json` prints


def acknowledge(ledger: Ledger, esc_id: str, *, actor: str, note: str = "") -> Acknowledged:
    """Someone has it: the ladder stops. Acknowledging twice keeps the first."""
    from engine.timeutil import iso

    with ledger.transaction(durable=True):
        esc = require(ledger, esc_id)
        if esc["status"] != "open":
            raise UsageError(
                f"{esc_id} is {esc['status']}: only an open escalation is acknowledged"
            )
        if not esc["metadata"].get("acked_by"):
            now = iso(ledger.now())
            ledger.beads.update(esc_id, actor=actor, metadata={"acked_by": actor, "acked_at": now})
            ledger.state.record_event(
                "escalation_acked", bead_id=esc_id, actor=actor, data={"note": note[:500]}
            )
        return Acknowledged(esc_id, summary(ledger.beads.require(esc_id)))


def close(ledger: Ledger, esc_id: str, *, actor: str, reason: str = "") -> Acknowledged:
    """Done with it (acknowledged or not)."""
    with ledger.transaction(durable=True):
        esc = require(ledger, esc_id)
        if esc["status"] != "open":
            raise UsageError(f"{esc_id} is already {esc['status']}")
        ledger.beads.close(esc_id, reason=reason or "resolved", actor=actor)
        return Acknowledged(esc_id, summary(ledger.beads.require(esc_id)))
