"""The event stream for views: each batch of new ledger events, whoever wrote them, is
handed to every subscriber's queue."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

Batch = list[dict[str, Any]]


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

    async def publish(self, events_after: Callable[[int], Awaitable[Batch]]) -> None:
        """Read the events after the last one handed out and hand them to every queue."""
        if not self.subscribers:
            return
        events = await events_after(self.last_event)
        if not events:
            return
        self.last_event = events[-1]["id"]
        for queue in self.subscribers:
            if queue.full():  # a slow view gets the newest batches, not an unbounded backlog
                queue.get_nowait()
            queue.put_nowait(events)
