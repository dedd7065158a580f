"""The kinds of event of the escalation ladder (engine/escalations.py,
engine/escalation_ladder.py): filed, counted again, raised, acknowledged.

`severity`, `banner` and `bell` are the route's as it was sent, so the app rings and shows
its banner from the event alone.
"""

from __future__ import annotations

from engine.events.base import Event

__all__ = [
    "EscalationAcknowledged",
    "EscalationFiled",
    "EscalationRaised",
    "EscalationRepeated",
]


class EscalationFiled(Event, kind="escalation_filed"):
    """A new escalation was sent along its severity's route."""

    severity: str | None
    to: list[str] | None  # who was told: mayor, RIG/witness, log
    banner: bool | None
    bell: bool | None
    title: str | None
    cause: str | None  # the cause key that keeps it one escalation per cause


class EscalationRepeated(Event, kind="escalation_repeated"):
    """Its cause was raised again while it was open: counted, nobody told again."""

    cause: str | None
    count: int | None


class EscalationRaised(Event, kind="escalation_raised"):
    """Nobody acknowledged it within its route's window: one level up (the ladder)."""

    severity: str | None  # the new severity
    from_: str | None  # the severity it had
    raises: int | None  # how many times it has been raised
    to: list[str] | None
    banner: bool | None
    bell: bool | None


class EscalationAcknowledged(Event, kind="escalation_acked"):
    """A person (or agent) took it on: the ladder stops raising it."""

    note: str | None
