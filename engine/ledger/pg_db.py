"""The PostgreSQL connection: the same `Db` surface as SQLite's, over psycopg 3.

The stores' SQL is written once, for both backends: `?` placeholders, rows read by name or
position. This module turns `?` into psycopg's `%s` (once per statement text, cached),
turns PostgreSQL's answers back into what sqlite3 gives (integers, not Decimals), and keeps
SQLite's transaction semantics:

- One writer at a time. Every write transaction first takes one transaction-level advisory
  lock, as SQLite's `BEGIN IMMEDIATE` takes its write lock, so the read-then-write rules
  the stores and the scheduler rely on (capacity, names, fencing) hold across engines on
  several machines exactly as across processes on one. A claim may still ask for
  `FOR UPDATE SKIP LOCKED` (see `Db.skip_locked`): it costs nothing under the lock, and is
  right if the lock ever narrows.
- Durable writes wait for the disk (`synchronous_commit` on); the others may return before
  (`off`: PostgreSQL never loses consistency, only the last few hundred ms on a crash),
  as SQLite's `synchronous=NORMAL` does.
- Each commit sends `NOTIFY gastown_ledger`, delivered only if it commits: every engine
  sharing the ledger listens (engine/ledger/pg_wake.py) instead of polling.
- `data_version` moves when *another* connection commits, like SQLite's pragma: a sequence
  counts commits, and this connection subtracts its own.

The URL's password never appears in an error: `redact` strips it from every message.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.errors import LedgerError
from engine.ledger.db import Savepoints

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    import psycopg

# An arbitrary constant: the advisory lock every writer of the ledger takes (one town per
# database, so one key is enough).
WRITE_LOCK_KEY = 0x6761_7374_6F77  # "gastow"
NOTIFY_CHANNEL = "gastown_ledger"
COMMITS_SEQUENCE = "ledger_commits"
CONNECT_TIMEOUT_SECONDS = 10

_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)(@)")
_PASSWORD_PARAM = re.compile(r"(password=)(\S+)", re.IGNORECASE)


def is_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def redact(text: str) -> str:
    """The text with any password in a URL or a `password=` parameter replaced."""
    return _PASSWORD_PARAM.sub(r"\1***", _URL_PASSWORD.sub(r"\1***\3", text))


# ---- statement translation -------------------------------------------------------------

_translated: dict[str, str] = {}


def translate(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s` (and a literal `%` doubled), skipping
    quoted strings and identifiers. Statements are fixed texts, so the cache stays small."""
    out = _translated.get(sql)
    if out is not None:
        return out
    parts: list[str] = []
    quote = ""
    for ch in sql:
        if quote:
            parts.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
            parts.append(ch)
        elif ch == "?":
            parts.append("%s")
        elif ch == "%":
            parts.append("%%")
        else:
            parts.append(ch)
    out = "".join(parts)
    if len(_translated) < 4096:  # a generated statement (IN lists) must not grow it forever
        _translated[sql] = out
    return out


def _param(value: object) -> object:
    # SQLite stores Python's bools as 0/1 in INTEGER columns; PostgreSQL refuses a boolean
    # for a bigint, so hand it the integer SQLite would have stored.
    return int(value) if isinstance(value, bool) else value


def _params(params: Sequence[object] | None) -> tuple[object, ...]:
    # Always a tuple, never None: psycopg parses a statement (and undoubles its `%%`) only
    # when it is given parameters.
    return tuple(_param(p) for p in params) if params else ()


class Row(tuple):  # type: ignore[type-arg]
    """A result row read by position or by column name, like `sqlite3.Row`."""

    __slots__ = ()
    _index: dict[str, int]

    def __getitem__(self, key):  # type: ignore[no-untyped-def, override]
        if isinstance(key, str):
            try:
                key = self._index[key]
            except KeyError:
                raise IndexError(f"no such column: {key}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _plain(value: object) -> object:
    # SUM() of integers is NUMERIC in PostgreSQL; sqlite3 gives an int (or a float).
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# one Row class per column list (statements are fixed texts, so the list stays small)
_row_classes: dict[tuple[str, ...], type[Row]] = {}


def _row_factory(cursor: psycopg.Cursor[Any]):  # type: ignore[no-untyped-def]
    description = cursor.description
    if description is None:
        return tuple
    names = tuple(c.name for c in description)
    cls = _row_classes.get(names)
    if cls is None:
        index = {n: i for i, n in enumerate(names)}
        cls = type("Row", (Row,), {"__slots__": (), "_index": index})
        if len(_row_classes) < 4096:
            _row_classes[names] = cls

    def make(values: Sequence[Any]) -> Row:
        return cls(_plain(v) for v in values)  # type: ignore[no-any-return]

    return make


class Cursor:
    """The part of `sqlite3.Cursor` the stores use."""

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur
        self.rowcount = cur.rowcount
        self.description = cur.description

    def fetchone(self) -> Any:
        return self._cur.fetchone() if self._cur.description is not None else None

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall() if self._cur.description is not None else []

    def __iter__(self) -> Iterator[Any]:
        if self._cur.description is None:
            return iter(())
        return iter(self._cur)

    @property
    def lastrowid(self) -> int | None:
        raise LedgerError("lastrowid is SQLite's: use INSERT … RETURNING")


class Connection:
    """The part of `sqlite3.Connection` the stores use, over one psycopg connection.

    A connection the server dropped (a restart, a network blip) is opened again on the
    next statement that starts no transaction of its own; inside a transaction it is an
    error, since what the transaction did so far is gone."""

    def __init__(self, db: PgDb, raw: psycopg.Connection[Any], target: str) -> None:
        self.db = db
        self.raw = raw
        self.target = target

    def execute(self, sql: str, params: Sequence[object] | None = None) -> Cursor:
        import psycopg

        if self.raw.closed:
            self.db.reconnect()
        try:
            return Cursor(self.raw.execute(translate(sql), _params(params)))
        except psycopg.Error as exc:
            raise LedgerError(describe(exc, self.target)) from None

    def executemany(self, sql: str, seq: Iterable[Sequence[object]]) -> Cursor:
        import psycopg

        if self.raw.closed:
            self.db.reconnect()
        cur = self.raw.cursor()
        try:
            cur.executemany(translate(sql), [_params(p) for p in seq])
        except psycopg.Error as exc:
            raise LedgerError(describe(exc, self.target)) from None
        return Cursor(cur)


class PgDb(Savepoints):
    """One connection to a PostgreSQL ledger, with the transactions of `Db`."""

    backend = "postgresql"

    def __init__(self, url: str, *, create: bool = False, read_only: bool = False) -> None:
        self.url = url
        self.path = redact(url)  # what messages name the ledger by
        self.read_only = read_only
        self._lock = threading.RLock()
        self._depth = 0
        self._savepoints = 0
        self._own_commits = 0
        # PostgreSQL's notifications carry the sender's pid, so every engine listening
        # can ignore its own; writers always notify (another host may be waiting).
        self.notify_commits = True
        self.conn = Connection(self, self._connect(), self.path)
        if read_only:
            self.conn.execute("SET default_transaction_read_only = on")
        self.backend_pid = self.conn.raw.info.backend_pid

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        try:
            return psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                row_factory=_row_factory,
                application_name="gastown",
            )
        except psycopg.Error as exc:
            raise LedgerError(describe(exc, self.path)) from None

    def reconnect(self) -> None:
        """A fresh session after the server dropped ours; refused inside a transaction."""
        if self._depth:
            raise LedgerError(
                f"lost the connection to the ledger at {self.path} inside a transaction; "
                "it was rolled back"
            )
        self.conn.raw = self._connect()
        if self.read_only:
            self.conn.execute("SET default_transaction_read_only = on")
        self.backend_pid = self.conn.raw.info.backend_pid

    def close(self) -> None:
        self.conn.raw.close()

    @contextmanager
    def write(self, *, durable: bool = False) -> Iterator[Connection]:
        if self.read_only:
            raise LedgerError(f"the view reader of {self.path} is read-only")
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN")
            self._depth = 1
            try:
                # One round trip for the lock, the durability and the notification: a
                # NOTIFY is delivered at COMMIT wherever the transaction sends it.
                self.conn.execute(
                    "SELECT pg_advisory_xact_lock(?), "
                    "set_config('synchronous_commit', ?, true), pg_notify(?, '')",
                    (WRITE_LOCK_KEY, "on" if durable else "off", NOTIFY_CHANNEL),
                )
                yield self.conn
            except BaseException:
                self._depth = 0
                self._rollback()
                raise
            self._depth = 0
            try:
                self.conn.execute("COMMIT")
            except LedgerError:
                self._rollback()
                raise
            # Counted after the commit, so a reader never sees the version move before
            # the data it announces; our own count is subtracted in `data_version`.
            self.conn.execute(f"SELECT nextval('{COMMITS_SEQUENCE}')")
            self._own_commits += 1

    def _rollback(self) -> None:
        # a lost connection cannot roll back, and needs not: the server already did
        with contextlib.suppress(LedgerError):
            self.conn.execute("ROLLBACK")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent snapshot for several reads (joins an outer write)."""
        with self._lock:
            if self._depth:
                yield self.conn
                return
            # REPEATABLE READ: every statement sees the same snapshot, as in SQLite's
            # read transaction (READ COMMITTED would let each one see a newer state).
            self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            self._depth = 1
            try:
                yield self.conn
            finally:
                self._depth = 0
                self._rollback()

    def data_version(self) -> int:
        """Changes whenever another connection commits (our own commits are not counted)."""
        row = self.conn.execute(f"SELECT last_value, is_called FROM {COMMITS_SEQUENCE}").fetchone()
        total = int(row[0]) if row[1] else 0
        return total - self._own_commits

    def skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED"


def describe(exc: BaseException, target: str) -> str:
    """One line a person can act on, for a PostgreSQL error (never with a password)."""
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    if name in {"OperationalError", "ConnectionTimeout"} and (
        "connect" in text or "timeout" in text or "refused" in text or "closed" in text
    ):
        return redact(f"cannot reach the ledger at {target}: {text}")
    if "does not exist" in text and "database" in text:
        return redact(f"no ledger database at {target}: {text}")
    if "password authentication failed" in text or "no pg_hba.conf entry" in text:
        return redact(f"the ledger at {target} refused the login: {text}")
    return redact(f"ledger error in {target}: {text}")


def environment_url() -> str | None:
    """`GASTOWN_LEDGER_URL`, for a password kept out of town.toml."""
    return os.environ.get("GASTOWN_LEDGER_URL") or None
