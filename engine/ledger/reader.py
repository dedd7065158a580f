"""The app's reads: a second, read-only connection to the ledger on aiosqlite's own thread.

The engine's ledger thread also runs the reconcile, which waits on `git worktree add` and
tmux; a screen refresh queued behind it waited too. Views read here instead: in WAL mode a
reader sees the last committed state without waiting for (or blocking) the one writer.

The stores' queries run unchanged on this connection through a read-only `Ledger` (writes
refused by `PRAGMA query_only` and by `ReadOnlyDb.write`), so the SQL of a view is written
once, in its store, and a snapshot read here equals one read on the engine's connection.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from engine.errors import LedgerError
from engine.ledger import Ledger
from engine.ledger.db import Db, _busy_timeout_ms, describe

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import aiosqlite

T = TypeVar("T")


class ReadOnlyDb(Db):
    """A `Db` over a connection it did not open, that refuses to write."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        # Db.__init__ opens a connection; this one is aiosqlite's, opened on its thread.
        self.path = path
        self.conn = conn
        self._depth = 0
        self._durable = False
        self._savepoints = 0
        self.notify_commits = False
        self._wake_path = ""

    @contextmanager
    def write(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        raise LedgerError(f"the view reader of {self.path} is read-only")
        yield self.conn  # pragma: no cover  (a generator, so the raise happens on entry)


class ReadOnlyLedger(Ledger):
    """The ledger's stores over the reader's connection (the schema was checked by the
    engine's own `Ledger`, opened first)."""

    def __init__(
        self, conn: sqlite3.Connection, path: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.db = ReadOnlyDb(conn, path)
        self.clock = clock
        self._stores: dict[str, object] = {}


class LedgerReader:
    """One read-only aiosqlite connection; `read(fn)` runs `fn(ledger)` on its thread."""

    def __init__(self, path: str, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._conn: aiosqlite.Connection | None = None
        self._ledger: ReadOnlyLedger | None = None
        self._pg: tuple[Any, Any] | None = None  # PostgreSQL: (its thread, its PgDb)

    async def open(self) -> None:
        if self.path.startswith(("postgresql://", "postgres://")):
            await self._open_postgresql()
            return
        import aiosqlite  # imported here: `gt` commands never load it

        try:
            conn = await aiosqlite.connect(
                self.path, timeout=_busy_timeout_ms() / 1000, isolation_level=None
            )
            conn.row_factory = sqlite3.Row
            # fetched to the end: a half-read cursor would hold its read transaction open,
            # and every later view would see the ledger as it was then
            await conn.execute_fetchall(f"PRAGMA busy_timeout={_busy_timeout_ms()}")
            # A view must never write: refused by SQLite itself, whatever a store tries.
            await conn.execute_fetchall("PRAGMA query_only=ON")
            await conn.execute_fetchall("SELECT count(*) FROM sqlite_master")
        except sqlite3.DatabaseError as exc:
            raise LedgerError(describe(exc, self.path)) from None
        self._conn = conn
        # aiosqlite keeps the sqlite3 connection private; the stores need it (read on its
        # own thread only, through `read`), so they run unchanged rather than copied here.
        self._ledger = ReadOnlyLedger(conn._conn, self.path, self.clock)

    async def _open_postgresql(self) -> None:
        # PostgreSQL: the same stores over a read-only psycopg connection on a thread of
        # its own (MVCC: a reader never waits for a writer, as in WAL mode).
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        from engine.ledger.pg_db import PgDb

        pool = ThreadPoolExecutor(1, thread_name_prefix="ledger-views")
        loop = asyncio.get_running_loop()
        try:
            db = await loop.run_in_executor(pool, lambda: PgDb(self.path, read_only=True))
        except BaseException:
            pool.shutdown(wait=False)
            raise
        ledger = ReadOnlyLedger.__new__(ReadOnlyLedger)
        ledger.path, ledger.db, ledger.clock, ledger._stores = db.path, db, self.clock, {}
        self._pg = (pool, db)
        self._ledger = ledger

    async def close(self) -> None:
        pg = self._pg
        if pg is not None:
            import asyncio

            pool, db = pg
            self._pg, self._ledger = None, None
            await asyncio.get_running_loop().run_in_executor(pool, db.close)
            pool.shutdown(wait=False)
        if self._conn is not None:
            conn, self._conn, self._ledger = self._conn, None, None
            await conn.close()

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(ledger, *args, **kwargs)` on the reader's thread and connection."""
        pg = self._pg
        if pg is not None:
            import asyncio
            import functools

            assert self._ledger is not None
            call = functools.partial(fn, self._ledger, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(pg[0], call)
        assert self._conn is not None and self._ledger is not None, "reader not open"
        # aiosqlite 0.22.1 (pinned) has no public call that runs a function on its
        # connection thread; `_execute` is the one its own methods use.
        return await self._conn._execute(fn, self._ledger, *args, **kwargs)  # type: ignore[no-any-return]
