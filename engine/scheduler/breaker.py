"""The town-wide circuit breaker: many failures in a window pause dispatch.

A broken runtime must never loop for hours. The breaker's state lives in the ledger so a
restart does not forget that dispatch was paused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.config import SchedulerSettings
    from engine.ledger import Ledger

KEY = "breaker"
FAILURE_KINDS = ("dispatch_failed", "agent_died", "agent_stalled_out")


class Breaker:
    def __init__(self, ledger: Ledger, settings: SchedulerSettings) -> None:
        self.ledger = ledger
        self.settings = settings

    def state(self) -> dict[str, Any]:
        return self.ledger.state.get(KEY, {"state": "closed"})  # type: ignore[no-any-return]

    def blocks_dispatch(self) -> str | None:
        """Why dispatch is paused, or None. After the cooldown one probe is allowed."""
        st = self.state()
        if st["state"] == "closed":
            return None
        now = self.ledger.now()
        if st["state"] == "open" and now >= st["until"]:
            with self.ledger.db.write() as conn:
                self.ledger.state.put(conn, KEY, {**st, "state": "half_open"})
            return None
        if st["state"] == "half_open":
            return None
        return (
            f"dispatch is paused: the circuit breaker tripped after {st.get('failures')} "
            f"failures; it retries at {iso(st['until'])} (or run `gt breaker reset`)"
        )

    def record_success(self) -> None:
        if self.state()["state"] != "closed":
            self.reset(actor="scheduler")

    def record_failure(self) -> bool:
        """Call after a failure event was written; returns True if the breaker tripped now."""
        st = self.state()
        now = self.ledger.now()
        # Failures before the last reset were already dealt with by a person.
        since = max(now - self.settings.breaker_window_seconds, st.get("reset_at", 0.0))
        window_start = iso(since)
        failures = self.ledger.state.recent_events(FAILURE_KINDS, window_start)
        reopen = st["state"] == "half_open"
        if st["state"] == "open" or (failures < self.settings.breaker_failures and not reopen):
            return False
        until = now + self.settings.breaker_cooldown_seconds
        with self.ledger.db.write(durable=True) as conn:
            self.ledger.state.put(
                conn,
                KEY,
                {"state": "open", "until": until, "failures": failures, "tripped_at": now},
            )
            record_event(
                conn,
                None,
                "breaker_tripped",
                "scheduler",
                iso(now),
                {"failures": failures, "until": iso(until)},
            )
            esc = self.ledger.beads.insert(
                conn,
                title=f"Circuit breaker tripped: {failures} failures in "
                f"{int(self.settings.breaker_window_seconds)}s",
                rig=None,
                bead_type="escalation",
                priority=0,
                created_by="scheduler",
                body=(
                    f"Dispatch is paused until {iso(until)}. Recent failures are in the "
                    f"event history (`gt events`). Fix the cause, then `gt breaker reset`."
                ),
            )
            self.ledger.mail.deliver(
                conn,
                sender="scheduler",
                to="mayor",
                subject="Dispatch paused: circuit breaker tripped",
                body=f"{failures} failures in the window; see {esc}.",
            )
        return True

    def reset(self, *, actor: str | None = None) -> None:
        with self.ledger.db.write() as conn:
            self.ledger.state.put(conn, KEY, {"state": "closed", "reset_at": self.ledger.now()})
            record_event(conn, None, "breaker_reset", actor, iso(self.ledger.now()), {})
