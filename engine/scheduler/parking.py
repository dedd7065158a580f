"""Parked beads: one bad row must never stop the engine.

When a reconcile hits an unexpected error on one bead (an inconsistent ledger row, a
dispatcher that raises what it should not), that bead is parked and the reconcile goes on
with the rest. A parked bead is not assigned or dispatched again until a person acts on
it: any change to the bead (cancel, update, reopen...) moves its `updated_at` and lifts
the park, so the next reconcile tries it afresh. The park is recorded in the ledger's town
state (it survives restarts), as an event, and as an escalation to the mayor; `gt status`
and the app's Problems list show it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.escalations import escalate
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.escalation_routes import EscalationSettings
    from engine.ledger import Ledger

log = logging.getLogger("gastown.scheduler")

KEY = "parked_beads"


def describe(exc: BaseException) -> str:
    """One line for an unexpected error: its type (what kind of trouble) and message."""
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def parked(ledger: Ledger) -> dict[str, dict[str, Any]]:
    """Parked bead id -> {reason, stage, at, updated_at}."""
    found = ledger.state.get(KEY, {})
    return found if isinstance(found, dict) else {}


class Parking:
    def __init__(self, ledger: Ledger, routes: EscalationSettings | None = None) -> None:
        self.ledger = ledger
        self.routes = routes  # town.toml [escalation]; None: the defaults

    def all(self) -> dict[str, dict[str, Any]]:
        return parked(self.ledger)

    def park(self, bead_id: str, reason: str, *, stage: str) -> bool:
        """Park a bead (once); True when it was newly parked."""
        ledger = self.ledger
        with ledger.transaction(durable=True):
            current = self.all()
            if bead_id in current:
                return False
            bead = ledger.beads.get(bead_id)
            now = iso(ledger.now())
            current[bead_id] = {
                "reason": reason,
                "stage": stage,
                "at": now,
                "updated_at": bead["updated_at"] if bead else None,
            }
            ledger.state.put(KEY, current)
            ledger.state.record_event(
                "parked",
                bead_id=bead_id,
                actor="scheduler",
                at=now,
                data={"reason": reason, "stage": stage},
            )
            escalate(
                ledger,
                title=f"{bead_id} parked: the engine hit an error on it ({stage})",
                body=(
                    f"While {stage}: {reason}\n"
                    f"The engine went on with the rest of the town; {bead_id} will not be "
                    f"assigned or dispatched again until it changes. Look at it with "
                    f"`gt bead show {bead_id}`, then fix or cancel it (`gt bead cancel "
                    f"{bead_id}`); any change to the bead lifts the park."
                ),
                severity="high",
                actor="scheduler",
                source=bead_id,
                cause=f"parked:{bead_id}",
                routes=self.routes,
            )
        log.error("parked %s (%s): %s", bead_id, stage, reason)
        return True

    def lift_changed(self) -> list[str]:
        """Lift the park of every bead that changed (or went away) since it was parked."""
        current = self.all()
        if not current:
            return []
        ledger = self.ledger
        lifted = []
        for bead_id, entry in current.items():
            bead = ledger.beads.get(bead_id)
            if bead is None or bead["updated_at"] != entry.get("updated_at"):
                lifted.append(bead_id)
        if lifted:
            with ledger.transaction():
                now = iso(ledger.now())
                fresh = self.all()
                for bead_id in lifted:
                    fresh.pop(bead_id, None)
                    ledger.state.record_event(
                        "unparked",
                        bead_id=bead_id,
                        actor="scheduler",
                        at=now,
                        data={"reason": "changed"},
                    )
                ledger.state.put(KEY, fresh)
            log.info("lifted the park of %s: changed since", ", ".join(lifted))
        return lifted
