"""The seam between the scheduler and the processes that do the work.

The scheduler decides *who* works on *what*; a Dispatcher makes it happen (worktree +
tmux session for real polecats) and reports which sessions are alive. Tests use a
recording dispatcher; the engine uses the one named in town.toml.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


class Assignment(NamedTuple):
    agent_id: str
    agent_name: str
    rig: str
    bead_id: str
    attempt: int
    runtime: str | None


class Started(NamedTuple):
    session: str | None = None
    worktree: str | None = None
    branch: str | None = None


class DispatchError(Exception):
    """Starting the work failed; the message says why in one line.

    `fault` says whose fault it is: "bead" when the bead itself can never be started as
    it is (an invalid id, a file or commit it names that does not exist): that fails the
    bead at once and never counts towards the town-wide circuit breaker. "town" (the
    default) is the runtime's or the machine's, and is retried with backoff and counted.
    """

    def __init__(self, message: str = "", *, fault: str = "town") -> None:
        super().__init__(message)
        self.fault = fault


class NotYet(Exception):
    """An inbox request that cannot be applied now but should stay queued (no retry cost)."""


class Dispatcher(Protocol):
    def start(self, assignment: Assignment) -> Started:
        """Start the agent's session on its hooked bead (idempotent per agent)."""
        ...

    def stop(self, agent_id: str) -> None:
        """Stop the agent's session, if any. Never raises for a session already gone."""
        ...

    def alive(self) -> set[str] | None:
        """Agent ids whose sessions are alive, in one batched look; None if unknowable."""
        ...
