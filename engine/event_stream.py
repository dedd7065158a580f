"""The event stream for views: each batch of new ledger events, whoever wrote them, is
handed to every subscriber's queue as typed event objects (engine/events/), so a view
matches on classes (`BeadClosed`, `MergeRequestFailed`), never on kind strings."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from engine.events import Event, from_row

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

Batch = list[Event]


class EventStream:
    def __init__(self) -> None:
        self.subscribers: list[asyncio.Queue[Batch]] = []
        self.last_event = 0  # the id of the newest event handed out

    def subscribe(self) -> asyncio.Queue[Batch]:
        """A queue receiving batches of new ledger events (whoever wrote them)."""
        queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize=100)
        self.subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Batch]) -> None:
        if queue in self.subscribers:
            self.subscribers.remove(queue)

    async def publish(self, events_after: Callable[[int], Awaitable[list[dict[str, Any]]]]) -> None:
        """Read the events after the last one handed out and hand them to every queue."""
        if not self.subscribers:
            return
        rows = await events_after(self.last_event)
        if not rows:
            return
        self.last_event = rows[-1]["id"]
        # built once and shared: the objects are frozen, so no view can change another's
        events = [from_row(row) for row in rows]
        for queue in self.subscribers:
            if queue.full():  # a slow view gets the newest batches, not an unbounded backlog
                queue.get_nowait()
            queue.put_nowait(events)
