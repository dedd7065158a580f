"""Runtime pauses by hand: a person lifts the pause a rate or usage limit put on a runtime
(`gt runtime resume NAME`), e.g. after moving the runtime to another account."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from engine.errors import NotFound

if TYPE_CHECKING:
    from engine.ledger import Ledger


class RuntimeResumed(NamedTuple):
    runtime: str
    was_until: str  # when the pause would have ended by itself (ISO)


def resume_runtime(ledger: Ledger, runtime: str, *, actor: str | None) -> RuntimeResumed:
    """Lift the pause on `runtime`: its beads are dispatched at the next reconcile."""
    from engine.scheduler.runtime_pauses import RuntimePauses
    from engine.timeutil import iso

    pauses = RuntimePauses(ledger)
    with ledger.transaction(durable=True):
        active = pauses.active()
        if runtime not in active:
            paused = ", ".join(sorted(active)) or "none"
            raise NotFound(f"runtime {runtime!r} is not paused (paused now: {paused})")
        pauses.lift(runtime, actor=actor)
    return RuntimeResumed(runtime, iso(active[runtime]["until"]))
