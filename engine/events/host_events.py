"""The kinds of event of hosts: engines on several machines sharing one ledger."""

from __future__ import annotations

from engine.events.base import Event, StatusChanged

__all__ = ["BeadReleasedFromHost", "HostJoined", "HostLost", "HostStopped"]


class HostJoined(Event, kind="host_joined"):
    """A host's engine joined the town (or re-joined it under a new epoch)."""

    host: str | None
    epoch: int | None
    capacity: int | None
    address: str | None


class HostStopped(Event, kind="host_stopped"):
    """A host's engine stopped cleanly."""

    host: str | None
    epoch: int | None


class HostLost(Event, kind="host_lost"):
    """A host stopped heartbeating for longer than its lease: another engine declared it
    lost, ended its agents and put their beads back for other hosts."""

    host: str | None
    epoch: int | None
    reason: str | None
    released: list[str] | None


class BeadReleasedFromHost(StatusChanged, kind="host_released"):
    """A bead's agent ran on a host declared lost: the bead went back to open without
    spending an attempt (its failures unchanged); its next dispatch is attempt+1."""

    reason: str | None
    host: str | None
