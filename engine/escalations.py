"""Escalations: a problem raised to a person — an escalation bead and its route's mail,
worded here.

Whoever raises one (an agent's `gt escalate`, the scheduler giving up on a bead, the
witness finding a screen that waits for a person, a parked bead, the breaker) calls
`escalate`; the ledger only stores the bead and delivers the mail it is handed, in one
durable transaction. A cause key makes it one escalation per cause: while one is open for
that cause, raising it again only counts (metadata `count`), never a new bead or mail per
tick. Where it goes is its severity's route (town.toml [escalation],
engine/escalation_routes.py); the ladder (engine/escalation_ladder.py) raises the ones
nobody acknowledges.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.escalation_routes import EscalationRoute, EscalationSettings
    from engine.ledger import Ledger
    from engine.records import Bead

log = logging.getLogger("gastown.escalations")

SEVERITIES = ("low", "medium", "high", "critical")
# how urgent each severity is, as a bead priority (0 is highest)
PRIORITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def default_routes() -> EscalationSettings:
    from engine.escalation_routes import EscalationSettings

    return EscalationSettings()


def open_for_cause(ledger: Ledger, cause: str) -> Bead | None:
    """The open escalation raised for CAUSE, if any (escalations are few: a scan)."""
    for esc in ledger.beads.list(bead_type="escalation", status="open"):
        if esc["metadata"].get("cause") == cause:
            return esc
    return None


def escalate(
    ledger: Ledger,
    *,
    title: str,
    body: str,
    severity: str,
    actor: str,
    source: str | None = None,
    cause: str | None = None,
    routes: EscalationSettings | None = None,
    count: bool = True,
) -> Bead:
    """File the escalation and send it along its severity's route; returns the bead. With
    CAUSE, an open escalation for the same cause is counted instead (and returned); COUNT
    False leaves it as it is, for a condition checked every tick (a budget spent), which is
    one occurrence however long it lasts."""
    from engine.errors import UsageError

    if not title.strip():
        raise UsageError("an escalation needs a title")
    if severity not in SEVERITIES:
        raise UsageError(f"severity {severity!r}: use one of {', '.join(SEVERITIES)}")
    routes = routes or default_routes()
    now = ledger.now()
    with ledger.transaction(durable=True):
        if cause is not None and (same := open_for_cause(ledger, cause)) is not None:
            if not count:
                return same
            times = int(same["metadata"].get("count") or 1) + 1
            ledger.beads.update(same["id"], actor=actor, metadata={"count": times})
            ledger.state.record_event(
                "escalation_repeated",
                bead_id=same["id"],
                actor=actor,
                data={"cause": cause, "count": times},
            )
            return ledger.beads.require(same["id"])
        route = routes.route(severity)
        src = ledger.beads.get(source) if source else None
        rig = src["rig"] if src else None
        esc = ledger.mail.file_escalation(
            title=title.strip().splitlines()[0][:200],
            body=body,
            severity=severity,
            priority=PRIORITY[severity],
            actor=actor,
            source=source,
            # banner: the app's header shows it until it is acknowledged or closed
            extra={
                "cause": cause,
                "count": 1,
                "rig": rig,
                "raises": 0,
                "notified_at": now,
                "banner": route.banner,
            },
        )
        told = notify(ledger, esc, route, title=title.strip(), body=body, rig=rig, actor=actor)
        ledger.state.record_event(
            "escalation_filed",
            bead_id=esc,
            actor=actor,
            data=route_data(severity, route, told, title=title.strip()[:200], cause=cause),
        )
        return ledger.beads.require(esc)


def route_data(
    severity: str, route: EscalationRoute, told: list[str], **more: Any
) -> dict[str, Any]:
    """What an escalation's events say about its route: the app rings and shows the banner
    from these, without reading town.toml."""
    return {
        "severity": severity,
        "to": told,
        "banner": route.banner,
        "bell": route.bell,
        **more,
    }


def notify(
    ledger: Ledger,
    esc: str,
    route: EscalationRoute,
    *,
    title: str,
    body: str,
    rig: str | None,
    actor: str,
    severity: str | None = None,
) -> list[str]:
    """Mail the route's recipients (inside the caller's transaction); returns who was told.
    `witness` is the escalation's rig's; a town-level one has none, so only the log."""
    from engine import vocab

    bead = ledger.beads.require(esc)
    severity = severity or str(bead["metadata"].get("severity") or "medium")
    source = bead["metadata"].get("source")
    told: list[str] = []
    for target in route.to:
        if target == "log":
            log.warning("escalation %s [%s]: %s", esc, severity, title[:200])
            told.append("log")
            continue
        address = vocab.MAYOR if target == "mayor" else (f"{rig}/witness" if rig else None)
        if address is None or address in told:
            continue
        ledger.mail.deliver(
            sender=actor,
            to=address,
            subject=f"[{severity}] {title[:150]}",
            body=body + (f"\n\nEscalation {esc}" + (f", about {source}" if source else "")),
        )
        told.append(address)
    if not told:  # a witness-only route for a town-level escalation: the log at least
        log.warning("escalation %s [%s]: %s", esc, severity, title[:200])
        told.append("log")
    return told


def escalate_spent_budgets(
    ledger: Ledger, spent: list[dict[str, str]], routes: EscalationSettings | None
) -> None:
    """One escalation per spent budget (scope "town" or a convoy id), filed when it is
    first found spent; checked every tick, so an open one is left as it is."""
    for entry in spent:
        scope = entry["scope"]
        what = "the town's budget" if scope == "town" else f"the budget of convoy {scope}"
        escalate(
            ledger,
            title=f"{what} is spent: nothing new starts",
            body=f"{entry['reason']}\nRaise it in town.toml [budget] (or let it be); "
            f"`gt costs` shows where it went.",
            severity="high" if scope == "town" else "medium",
            actor="scheduler",
            cause=f"budget:{scope}",
            routes=routes,
            count=False,
        )
