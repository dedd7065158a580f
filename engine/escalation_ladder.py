"""The escalation ladder: an escalation nobody acknowledges within its route's window is
raised one level (severity up, the new severity's route told), at most `max_raises` times.

`raise_stale` is the reconcile's patrol step (once a tick; cheap: one scan of the open
escalations). Acknowledging (`acknowledge`) stops the ladder; closing ends the escalation.
Each raise is an `escalation_raised` event naming the levels, so `gt escalate show` and the
bead's history tell the whole climb.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine.escalations import PRIORITY, SEVERITIES, notify, route_data

if TYPE_CHECKING:
    from engine.escalation_routes import EscalationSettings
    from engine.ledger import Ledger
    from engine.records import Bead

log = logging.getLogger("gastown.escalations")


def raised_severity(severity: str) -> str:
    """One level up; critical stays critical (it is told again, louder it cannot get)."""
    i = SEVERITIES.index(severity) if severity in SEVERITIES else 1
    return SEVERITIES[min(i + 1, len(SEVERITIES) - 1)]


def is_stale(esc: Bead, routes: EscalationSettings, now: float) -> bool:
    """Open, unacknowledged, not yet raised `max_raises` times, and waiting longer than its
    severity's window since it was last sent."""
    meta = esc["metadata"]
    if esc["status"] != "open" or meta.get("acked_by"):
        return False
    if int(meta.get("raises") or 0) >= routes.max_raises:
        return False
    since = meta.get("notified_at")
    if not isinstance(since, int | float):
        return False  # filed before the ladder (no clock of its own): left as it was
    window = routes.route(str(meta.get("severity") or "medium")).stale_hours * 3600
    return now - float(since) >= window


def raise_stale(ledger: Ledger, routes: EscalationSettings) -> list[str]:
    """Raise every stale escalation one level; returns the ids raised. Each in its own
    durable transaction: one bad row does not keep the others down."""
    now = ledger.now()
    raised = []
    for esc in ledger.beads.list(bead_type="escalation", status="open"):
        if not is_stale(esc, routes, now):
            continue
        try:
            raise_one(ledger, esc["id"], routes)
            raised.append(esc["id"])
        except Exception:
            log.exception("could not raise escalation %s; trying again next tick", esc["id"])
    return raised


def raise_one(ledger: Ledger, esc_id: str, routes: EscalationSettings) -> Bead:
    with ledger.transaction(durable=True):
        esc = ledger.beads.require(esc_id)
        now = ledger.now()
        if not is_stale(esc, routes, now):  # acknowledged meanwhile (another writer)
            return esc
        meta = esc["metadata"]
        old = str(meta.get("severity") or "medium")
        new = raised_severity(old)
        raises = int(meta.get("raises") or 0) + 1
        route = routes.route(new)
        hours = routes.route(old).stale_hours
        ledger.beads.update(
            esc_id,
            actor="ladder",
            priority=PRIORITY[new],
            metadata={
                "severity": new,
                "raises": raises,
                "notified_at": now,
                "banner": route.banner or bool(meta.get("banner")),
            },
        )
        told = notify(
            ledger,
            esc_id,
            route,
            title=f"(raised {raises}x, unacknowledged {hours:g} h) {esc['title']}",
            body=esc["body"]
            + f"\n\nNobody acknowledged this {old} escalation within {hours:g} h, so it is "
            f"now {new}. Acknowledge it with `gt escalate ack {esc_id}`.",
            rig=meta.get("rig"),
            actor="ladder",
            severity=new,
        )
        ledger.state.record_event(
            "escalation_raised",
            bead_id=esc_id,
            actor="ladder",
            data=route_data(new, route, told, raises=raises, **{"from": old}),
        )
    log.warning("escalation %s unacknowledged: raised %s -> %s", esc_id, old, new)
    return ledger.beads.require(esc_id)
