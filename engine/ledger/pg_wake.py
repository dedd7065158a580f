"""Commit notifications on PostgreSQL: LISTEN on psycopg's async connection.

Every write transaction sends `NOTIFY gastown_ledger` (engine/ledger/pg_db.py), delivered
to every listening connection when, and only if, it commits. Each engine sharing the
ledger (one per host) listens here, so a bead closed on one host wakes the scheduler of
every other host within a round trip, with no polling. A notification names the backend
that sent it: an engine ignores its own writes (it knows what it wrote), as SQLite's
`data_version` ignores a connection's own commits.

A lost listening connection is not a failure: the engine keeps its slow `data_version`
poll, and this task reconnects with a growing pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from engine.ledger.pg_db import CONNECT_TIMEOUT_SECONDS, NOTIFY_CHANNEL, redact

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("gastown.engine")


class PgWakeListener:
    """Calls `heard()` on the event loop for each foreign commit."""

    def __init__(self, url: str, heard: Callable[[], None], own_pids: Callable[[], set[int]]):
        self.url = url
        self.heard = heard
        self.own_pids = own_pids
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ledger-listen")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        import psycopg

        pause = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
                )
            except psycopg.Error as exc:
                log.warning("cannot listen to the ledger (%s); retrying", redact(str(exc)))
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
                continue
            try:
                await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                self.listening.set()
                pause = 0.5
                # A commit between our last look and LISTEN would be missed: look once now.
                self.heard()
                async for note in conn.notifies():
                    if note.pid not in self.own_pids():
                        self.heard()
            except psycopg.Error as exc:
                log.warning("lost the ledger's notifications (%s); reconnecting", redact(str(exc)))
            finally:
                self.listening.clear()
                with contextlib.suppress(Exception):
                    await conn.close()
            await asyncio.sleep(pause)
