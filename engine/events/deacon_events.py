"""The kinds of event the deacon's patrols record (engine/deacon/)."""

from __future__ import annotations

from engine.events.base import Event, StatusChanged


class ConvoyStranded(Event, kind="convoy_stranded"):
    """An open, launched convoy can make no progress: nothing ready, nothing running,
    nothing waiting on open work (the deacon says why, once per cause)."""

    why: str | None


class HookReleased(StatusChanged, kind="hook_released"):
    """A bead hooked to an agent that was gone longer than the deacon's window went back
    to the queue."""

    reason: str | None
    agent: str | None


class BeadQuarantined(StatusChanged, kind="quarantined"):
    """A crash-looping bead (too many failed attempts in the deacon's window) was taken
    out of the queue instead of retried; `gt bead reopen` lets it run again."""

    reason: str | None
    failures: int | None


class PolecatReaped(Event, kind="polecat_reaped"):
    """An idle polecat was retired by the deacon and its clean worktree removed (its work
    stays on its branch)."""

    agent: str | None
    worktree: str | None


class EventsCompacted(Event, kind="events_compacted"):
    """The deacon deleted old events (the newest are always kept; ids never reused)."""

    deleted: int | None
    before_id: int | None
