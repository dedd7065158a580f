"""The seam between the scheduler and the processes that do the work.

The scheduler decides *who* works on *what*; a Dispatcher makes it happen (worktree +
tmux session for real polecats) and reports which sessions are alive. Tests use a
recording dispatcher; the engine uses the one named in town.toml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.records import Agent
    from engine.usage import SessionUsage


# How many lines of a session's log `last_words` reads (the CLI's final screen).
LAST_WORDS_READ = 40


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


class Launch(NamedTuple):
    """What a start needs from the ledger, read and issued on the ledger thread
    (`Dispatcher.prepare`), so the git and tmux side (`Dispatcher.launch`) never touches
    the ledger and can run on the adapters' own thread."""

    assignment: Assignment
    details: Any = None  # the dispatcher's own: for the fleet, the bead, rig and session env


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
    """Every hook the scheduler, the witness and the engine call on a dispatcher.

    `start`, `stop` and `alive` are the dispatcher's job; the rest are hooks a dispatcher
    without sessions on disk has nothing to do for (DispatcherHooks gives them no-op
    defaults).
    """

    def start(self, assignment: Assignment) -> Started:
        """Start the agent's session on its hooked bead (idempotent per agent):
        `launch(prepare(assignment))`, in one go, on one thread."""
        ...

    def prepare(self, assignment: Assignment) -> Launch:
        """The ledger side of a start (on the ledger thread): read what the session needs
        and issue what it must carry. Raises DispatchError like `start`."""
        ...

    def launch(self, plan: Launch) -> Started:
        """The git and tmux side of a start (on the adapters' thread): must not touch the
        ledger. Raises DispatchError like `start`."""
        ...

    def stop(self, agent_id: str) -> None:
        """Stop the agent's session, if any. Never raises for a session already gone."""
        ...

    def alive(self) -> set[str] | None:
        """Agent ids whose sessions are alive, in one batched look; None if unknowable."""
        ...

    def describe(self, assignment: Assignment) -> Started:
        """Where a session started before a crash lives (for adopting it)."""
        ...

    def progress_marker(self, agent: Agent) -> float | None:
        """The latest sign of progress the dispatcher can see (output, commits), or None."""
        ...

    def nudged_at(self, agent: Agent) -> float | None:
        """When a nudge was last typed into the agent's session (the ledger's clock), or
        None: a nudge is typed a tick or more after the witness asked for it, and the
        output its echo makes is not the agent's progress."""
        ...

    def session_log(self, agent: Agent) -> str | None:
        """The path of the log of the agent's session on its current hook, or None."""
        ...

    def last_words(self, agent: Agent) -> str | None:
        """The last lines the agent's session printed (on its current hook), cleaned of
        terminal escapes, one per line; None when there is nothing to read. Read when a
        session dies: why it died is usually there ("Unable to connect…", a usage limit)."""
        ...

    def usage(self, agent: Agent) -> list[SessionUsage]:
        """The token usage the agent's CLI recorded for its sessions, live and finished
        (engine/usage/: running totals, so reading again never counts twice)."""
        ...

    def screens(self, agents: list[Agent]) -> dict[str, str]:
        """What each of these agents' sessions shows now (a pane capture), by agent id: the
        witness asks once per tick for the whole fleet. Agents with no screen are left out."""
        ...

    def send_keys(self, agent: Agent, keys: tuple[str, ...]) -> None:
        """Answer a known dialog on the agent's screen: each key typed literally, "Enter"
        as the Enter key (engine.polecats.screens.ENTER)."""
        ...

    def preserve_work(self, agent: Agent) -> None:
        """Before a kill: keep whatever the agent has not committed."""
        ...

    def on_retire(self, agent: Agent) -> None:
        """A polecat was retired: release what it holds (session, worktree)."""
        ...

    def on_engine_start(self) -> None:
        """The engine took the town: clear what an earlier engine left behind."""
        ...

    def inbox_handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        """Inbox request kinds this dispatcher applies (e.g. "nudge"), by kind."""
        ...

    def close(self) -> None:
        """The engine that holds the town is stopping."""
        ...


class DispatcherHooks:
    """No-op defaults for the optional hooks: a dispatcher with no sessions on disk (the
    tests' recording dispatcher) has nothing to describe, preserve or clean up. A
    dispatcher whose `start` needs nothing from the ledger prepares nothing and launches
    by starting."""

    if TYPE_CHECKING:  # every dispatcher's own (not a default): declared for `launch`

        def start(self, assignment: Assignment) -> Started: ...

    def prepare(self, assignment: Assignment) -> Launch:
        return Launch(assignment)

    def launch(self, plan: Launch) -> Started:
        return self.start(plan.assignment)

    def describe(self, assignment: Assignment) -> Started:
        return Started()

    def progress_marker(self, agent: Agent) -> float | None:
        return None

    def nudged_at(self, agent: Agent) -> float | None:
        return None

    def session_log(self, agent: Agent) -> str | None:
        return None

    def last_words(self, agent: Agent) -> str | None:
        # A dispatcher with session logs (the tmux fleet) has them there: a dead pane is
        # gone with its session, its log stays.
        from engine.polecats import seance
        from engine.safetext import plain

        path = self.session_log(agent)
        if not path:
            return None
        try:
            lines = seance.tail(path, LAST_WORDS_READ)
        except OSError:
            return None
        # A pane log is the terminal's raw bytes: escape sequences and carriage returns go;
        # "--- " lines are the launcher's own markers, not the agent's words.
        said = [t for t in (plain(ln).strip() for ln in lines) if t and not t.startswith("--- ")]
        return "\n".join(said) or None

    def usage(self, agent: Agent) -> list[SessionUsage]:
        return []

    def screens(self, agents: list[Agent]) -> dict[str, str]:
        return {}

    def send_keys(self, agent: Agent, keys: tuple[str, ...]) -> None:
        return None

    def preserve_work(self, agent: Agent) -> None:
        return None

    def on_retire(self, agent: Agent) -> None:
        return None

    def on_engine_start(self) -> None:
        return None

    def inbox_handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        return {}

    def close(self) -> None:
        return None
