"""Escalations: a problem raised to the mayor — an escalation bead and mail, worded here.

Whoever raises one (an agent's `gt escalate`, the scheduler giving up on a bead, the witness
finding a screen that waits for a person, a parked bead) calls `escalate`; the ledger only
stores the bead and delivers the mail it is handed, in one durable transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.records import Bead

# how urgent each severity is, as a bead priority (0 is highest)
PRIORITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def escalate(
    ledger: Ledger, *, title: str, body: str, severity: str, actor: str, source: str | None = None
) -> Bead:
    """File the escalation and mail the mayor; returns the escalation bead."""
    from engine import vocab
    from engine.errors import UsageError

    if not title.strip():
        raise UsageError("an escalation needs a title")
    with ledger.transaction(durable=True):
        esc = ledger.mail.file_escalation(
            title=title.strip().splitlines()[0][:200],
            body=body,
            severity=severity,
            priority=PRIORITY.get(severity, 2),
            actor=actor,
            source=source,
        )
        ledger.mail.deliver(
            sender=actor,
            to=vocab.MAYOR,
            subject=f"[{severity}] {title.strip()[:150]}",
            body=body + (f"\n\nEscalation {esc}" + (f", about {source}" if source else "")),
        )
        return ledger.beads.require(esc)
