"""The kinds of event of the mayor's session (engine/mayor/): started, stopped, restarted
by the witness, and mail handed to it."""

from __future__ import annotations

from engine.events.base import Event

__all__ = ["MayorMailDelivered", "MayorRestarted", "MayorStarted", "MayorStopped"]


class MayorStarted(Event, kind="mayor_started"):
    """The mayor's session was started (`gt mayor start`, or the app)."""

    runtime: str | None
    session: str | None


class MayorStopped(Event, kind="mayor_stopped"):
    """The mayor's session was stopped by a person."""

    runtime: str | None


class MayorRestarted(Event, kind="mayor_restarted"):
    """The mayor's session was gone (its CLI died or was killed): the witness started it
    again with a fresh context and its prompt."""

    runtime: str | None
    reason: str | None
    restarts: int | None  # how many times since it was started


class MayorMailDelivered(Event, kind="mayor_mail_delivered"):
    """Mail to the mayor was typed into its session as a nudge (it sat at its prompt)."""

    mail: str | None  # the message's id
    sender: str | None
