"""A dispatcher that records what the scheduler asked for instead of starting processes."""

from __future__ import annotations

from engine.polecats.dispatcher import Assignment, DispatcherHooks, DispatchError, Started


class RecordingDispatcher(DispatcherHooks):
    def __init__(self) -> None:
        self.started: list[Assignment] = []
        self.stopped: list[str] = []
        self.sessions: set[str] = set()
        self.fail_with: str | None = None

    def start(self, assignment: Assignment) -> Started:
        if self.fail_with:
            raise DispatchError(self.fail_with)
        self.started.append(assignment)
        self.sessions.add(assignment.agent_id)
        return Started(session=f"gt-{assignment.agent_name}")

    def stop(self, agent_id: str) -> None:
        self.stopped.append(agent_id)
        self.sessions.discard(agent_id)

    def alive(self) -> set[str] | None:
        return set(self.sessions)

    def kill(self, agent_id: str) -> None:
        """The session dies on its own (a crash), without the scheduler asking."""
        self.sessions.discard(agent_id)
