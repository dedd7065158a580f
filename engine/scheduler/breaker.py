"""The town-wide circuit breaker: many failures in a window pause dispatch.

A broken runtime must never loop for hours. The breaker's state lives in the ledger so a
restart does not forget that dispatch was paused.

Only failures of the town (the runtime, the machine, the repository) count: a failure that
is a bead's own fault (an invalid id, a file it names that is not there) fails that bead
and is recorded as `bead_fault`, which is not one of FAILURE_KINDS. The breaker keeps the
reasons of the recent failures it counted, so a trip says why the attempts failed: in the
log line, the escalation, `gt status` and the app's Problems list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.escalations import escalate
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.config import SchedulerSettings
    from engine.escalation_routes import EscalationSettings
    from engine.ledger import Ledger

KEY = "breaker"
FAILURE_KINDS = ("dispatch_failed", "agent_died", "agent_stalled_out")
# A failure that is the bead's own fault: recorded, never counted towards the breaker.
BEAD_FAULT = "bead_fault"
# How many recent failure reasons the breaker keeps (and a trip shows).
KEPT_REASONS = 10


class Breaker:
    def __init__(
        self,
        ledger: Ledger,
        settings: SchedulerSettings,
        routes: EscalationSettings | None = None,
    ) -> None:
        self.ledger = ledger
        self.settings = settings
        self.routes = routes  # town.toml [escalation]; None: the defaults

    def state(self) -> dict[str, Any]:
        return self.ledger.state.get(KEY, {"state": "closed"})  # type: ignore[no-any-return]

    def blocks_dispatch(self) -> str | None:
        """Why dispatch is paused, or None. After the cooldown one probe is allowed."""
        st = self.state()
        if st["state"] == "closed":
            return None
        now = self.ledger.now()
        if st["state"] == "open" and now >= st["until"]:
            with self.ledger.transaction():
                self.ledger.state.put(KEY, {**st, "state": "half_open"})
            return None
        if st["state"] == "half_open":
            return None
        return (
            f"dispatch is paused: the circuit breaker tripped after {summarize(st)}; "
            f"it retries at {iso(st['until'])} (or run `gt breaker reset`)"
        )

    def record_success(self) -> None:
        if self.state()["state"] != "closed":
            self.reset(actor="scheduler")

    def record_failure(self, bead_id: str | None = None, reason: str | None = None) -> bool:
        """Call after a failure event was written; returns True if the breaker tripped now.

        `bead_id` and `reason` are kept (the newest few) so a trip can say why."""
        st = self.state()
        now = self.ledger.now()
        recent = [r for r in st.get("recent", []) if r.get("at", 0) >= now - self.window()]
        if reason is not None:
            recent = [*recent, {"bead": bead_id, "reason": reason, "at": now}][-KEPT_REASONS:]
            with self.ledger.transaction():
                st = {**st, "recent": recent}
                self.ledger.state.put(KEY, st)
        # Failures before the last reset were already dealt with by a person.
        since = max(now - self.window(), st.get("reset_at", 0.0))
        window_start = iso(since)
        failures = self.ledger.state.recent_events(FAILURE_KINDS, window_start)
        reopen = st["state"] == "half_open"
        if st["state"] == "open" or (failures < self.settings.breaker_failures and not reopen):
            return False
        until = now + self.settings.breaker_cooldown_seconds
        why = [r for r in recent if r.get("at", 0) >= since]
        with self.ledger.transaction(durable=True):
            self.ledger.state.put(
                KEY,
                {
                    "state": "open",
                    "until": until,
                    "failures": failures,
                    "tripped_at": now,
                    "recent": recent,
                    "reasons": why,
                },
            )
            self.ledger.state.record_event(
                "breaker_tripped",
                actor="scheduler",
                at=iso(now),
                data={"failures": failures, "until": iso(until), "reasons": _lines(why)},
            )
            listing = "\n".join(f"- {line}" for line in _lines(why)) or "- (no reason recorded)"
            # one open escalation for the breaker: a second trip before it is closed counts
            escalate(
                self.ledger,
                title=f"Circuit breaker tripped: {failures} failures in "
                f"{int(self.settings.breaker_window_seconds)}s",
                body=(
                    f"Dispatch is paused until {iso(until)}. The failures:\n{listing}\n"
                    f"More in the event history (`gt events`). Fix the cause, then "
                    f"`gt breaker reset`."
                ),
                severity="critical",
                actor="scheduler",
                cause="breaker",
                routes=self.routes,
            )
        return True

    def window(self) -> float:
        return float(self.settings.breaker_window_seconds)

    def summary(self) -> str:
        """Why the breaker is open, in one line (empty when it is closed)."""
        st = self.state()
        if st["state"] == "closed":
            return ""
        return summarize(st)

    def reset(self, *, actor: str | None = None) -> None:
        with self.ledger.transaction():
            self.ledger.state.put(KEY, {"state": "closed", "reset_at": self.ledger.now()})
            self.ledger.state.record_event("breaker_reset", actor=actor, data={})


def _lines(reasons: list[dict[str, Any]]) -> list[str]:
    return [f"{r.get('bead') or '-'}: {r.get('reason')}" for r in reasons]


def summarize(st: dict[str, Any]) -> str:
    """`N failures: bead: reason; ...` for an open breaker's state (identical reasons once)."""
    seen: dict[str, list[str]] = {}
    for r in st.get("reasons") or st.get("recent") or []:
        seen.setdefault(str(r.get("reason")), []).append(str(r.get("bead") or "-"))
    parts = [f"{', '.join(beads)}: {reason}" for reason, beads in seen.items()]
    head = f"{st.get('failures', '?')} failures"
    return head + (": " + "; ".join(parts) if parts else " (no reason recorded)")
