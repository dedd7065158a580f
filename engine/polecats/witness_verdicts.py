"""What the witness decides: one typed verdict per decision, for the scheduler to act on
(engine.scheduler.verdicts). Plain data: the witness judges, it never acts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.records import Agent


@dataclass(frozen=True)
class HealthChanged:
    """The agent's label changed (working again, stalled, gupp): record it. `info` is
    merged into the agent's info (a working agent's ladder is reset)."""

    agent: Agent
    health: str
    info: dict[str, Any] | None = None


@dataclass(frozen=True)
class NudgeDue:
    """First rung: type a reminder into the agent's session, and remember the rung."""

    agent: Agent
    message: str
    expires_at: float
    step: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RestartDue:
    """Second rung: restart the session on the same hook with a fresh context."""

    agent: Agent
    restarts: int
    step: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RedispatchDue:
    """Last rung: keep its work, kill the session, fail this attempt (the next one is
    dispatched with the bead's backoff)."""

    agent: Agent
    reason: str


@dataclass(frozen=True)
class RateLimited:
    """The agent's screen shows a rate or usage limit: pause its runtime (until the reset
    time when the screen shows one), put its bead back without spending an attempt, and
    stop its session. `text` is the screen's line that said so."""

    agent: Agent
    until: float | None
    text: str


@dataclass(frozen=True)
class Crashed:
    """The agent's CLI gave up (its model kept failing until its retries ran out) yet may
    sit at its prompt, alive: fail the attempt with what it said. `line` is the screen's
    line that said so, `text` its last lines (both made safe)."""

    agent: Agent
    line: str
    text: str


@dataclass(frozen=True)
class SessionFinished:
    """The agent ran `gt done` and its CLI is back at its prompt (read idle twice): it has
    seen gt done's answer and said its last words; its session can end."""

    agent: Agent


@dataclass(frozen=True)
class ScreenSeen:
    """What the agent's screen shows changed: remember it (the agent's info "screen"), so
    the next tick compares with it (two idle readings in a row; a screen that stays)."""

    agent: Agent
    screen: dict[str, Any]


@dataclass(frozen=True)
class DialogDue:
    """A known dialog is on the agent's screen: type the keys its rule names."""

    agent: Agent
    dialog: str
    keys: tuple[str, ...]
    screen: dict[str, Any]


@dataclass(frozen=True)
class NeedsYou:
    """The agent's screen waits for a person (a login, a question the town does not know):
    hold it as stalled, never nudge it, escalate to the mayor. Raised once per screen."""

    agent: Agent
    why: str
    text: str  # the screen's last lines, made safe
    screen: dict[str, Any]


Verdict = (
    HealthChanged
    | NudgeDue
    | RestartDue
    | RedispatchDue
    | RateLimited
    | Crashed
    | ScreenSeen
    | SessionFinished
    | DialogDue
    | NeedsYou
)
