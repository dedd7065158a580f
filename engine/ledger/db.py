"""The SQLite connection: pragmas, transactions, and errors translated into plain words.

All SQL of the project lives under engine/ledger/. Writers always take the write lock up
front (`BEGIN IMMEDIATE`): a deferred transaction that later upgrades gets SQLITE_BUSY at
once whatever busy_timeout says, which is how "database is locked" reaches users.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from engine.errors import LedgerError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from engine.ledger.pg_db import PgDb

# Either backend's `Db` (engine/ledger/pg_db.py's PgDb mirrors this one).
AnyDb: TypeAlias = "Db | PgDb"


class Conn(Protocol):
    """What the stores use of a connection, on either backend: sqlite3's own, or
    engine/ledger/pg_db.py's `Connection`, which offers the same calls."""

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, seq: Any, /) -> Any: ...


# A result row, read by position or by column name (sqlite3.Row, or pg_db.Row).
Row = Any

# Long enough that 20 concurrent `gt` writers never surface "database is locked".
DEFAULT_BUSY_TIMEOUT_MS = 60_000


def _busy_timeout_ms() -> int:
    raw = os.environ.get("GT_BUSY_TIMEOUT_MS")
    return int(raw) if raw and raw.isdigit() else DEFAULT_BUSY_TIMEOUT_MS


class Savepoints:
    """Both backends' savepoints (the same SQL on SQLite and PostgreSQL)."""

    conn: Any
    _depth: int
    _savepoints: int

    @contextmanager
    def savepoint(self) -> Iterator[Any]:
        """Inside a write: all or nothing for one part of it, while the rest goes on
        (the scheduler assigns bead by bead; one bad row must not undo the others)."""
        if not self._depth:
            raise RuntimeError("a savepoint needs an open write transaction")
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self.conn.execute(f"RELEASE SAVEPOINT {name}")


class Db(Savepoints):
    """One connection to the ledger, with explicit transactions."""

    backend = "sqlite"

    def __init__(self, path: str, *, create: bool = False) -> None:
        self.path = path
        if not create and not os.path.exists(path):
            raise LedgerError(f"no ledger at {path} (run `gt init` to create a town)")
        try:
            conn = sqlite3.connect(
                path,
                timeout=_busy_timeout_ms() / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={_busy_timeout_ms()}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            if create:
                conn.execute("PRAGMA journal_mode=WAL")
            # Touch the schema so a corrupt file fails here, with its name, not later.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(describe(exc, path)) from None
        self.conn = conn
        self._depth = 0
        self._durable = False
        self._savepoints = 0
        # Every commit tells the town's engine (engine/ledger/wake.py); the engine turns
        # this off for its own connection: it knows what it wrote, and must not wake itself.
        self.notify_commits = True
        self._wake_path = ""

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def write(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """A read-then-write transaction holding the write lock from its first statement.

        Nested calls join the outer transaction. `durable` asks for synchronous=FULL
        (claims, merges, mail): the commit is on disk before we say it happened.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        try:
            if durable:
                self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise LedgerError(describe(exc, self.path)) from None
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self._depth = 0
            self.conn.execute("ROLLBACK")
            if durable:
                self.conn.execute("PRAGMA synchronous=NORMAL")
            raise
        self._depth = 0
        try:
            self.conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self.conn.execute("ROLLBACK")
            raise LedgerError(describe(exc, self.path)) from None
        finally:
            if durable:
                self.conn.execute("PRAGMA synchronous=NORMAL")
        if self.notify_commits:  # after COMMIT: the engine must see the change when it looks
            self._notify()

    def _notify(self) -> None:
        # imported on the first commit: read-only `gt` commands never load it
        from engine.ledger.wake import notify, wake_path

        if not self._wake_path:
            self._wake_path = wake_path(self.path)
        notify(self._wake_path)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads (joins an outer write)."""
        if self._depth:
            yield self.conn
            return
        self.conn.execute("BEGIN")
        self._depth = 1
        try:
            yield self.conn
        finally:
            self._depth = 0
            self.conn.execute("COMMIT")

    def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap cross-process wake-up."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def skip_locked(self) -> str:
        # SQLite has one writer and no row locks: there is nothing to skip.
        return ""


def describe(exc: sqlite3.DatabaseError, path: str) -> str:
    """One line a person can act on, for an SQLite error."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        waited = _busy_timeout_ms() / 1000
        return (
            f"the ledger {path} is locked by another process and stayed locked "
            f"for {waited:g}s; nothing was changed"
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return f"the ledger {path} is damaged ({text}); nothing was changed"
    if "readonly" in text or "unable to open" in text:
        return f"cannot write the ledger {path} ({text})"
    return f"ledger error in {path}: {text}"
