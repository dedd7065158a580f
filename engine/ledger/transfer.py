"""Copying a whole ledger into an empty one (`gt ledger migrate`), on either backend.

Storage only: which tables exist, their rows, their counters and a fingerprint of their
content. Whether a copy is good enough to switch a town over is the caller's decision
(engine/commands/ledger_move.py), made inside the target's transaction so a refusal
leaves the target as it was.

The tables come from the schema's own description (schema.MIGRATIONS), never from a list
kept here: a table a later migration adds is copied without anyone remembering to add it.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

from engine.errors import LedgerError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from engine.ledger import Ledger

# Rows per executemany: large enough that a round trip to a PostgreSQL server is paid per
# batch, not per row; small enough that a batch of bead bodies stays a few MB.
BATCH_ROWS = 1000

_CREATE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)", re.I | re.S)
_DROP = re.compile(r"DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)", re.I)
_RENAME = re.compile(r"ALTER\s+TABLE\s+(\w+)\s+RENAME\s+TO\s+(\w+)", re.I)
_SEEDED = re.compile(r"INSERT\s+INTO\s+(\w+)", re.I)
_COUNTER = re.compile(r"^\s*(\w+)\s+INTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT", re.I | re.M)

# Rows the schema itself writes when it creates a ledger: the version, in `meta`.
META = "meta"


class TargetOccupied(LedgerError):
    """The target holds rows an empty ledger would not have: nothing was copied."""

    def __init__(self, where: str, tables: dict[str, int]) -> None:
        super().__init__(f"{where} is not empty ({', '.join(sorted(tables))})")
        self.tables = tables


class TableShape(NamedTuple):
    name: str
    counter: str | None  # the column numbered by the database (AUTOINCREMENT / identity)
    seeded: bool  # the schema writes rows into it: present in an empty ledger


class Fingerprint(NamedTuple):
    """What a table holds, comparable across backends."""

    rows: int
    digest: str  # order-free: the sum of each row's hash (the same rows in any order)
    next_id: int | None  # the counter's last value, for a numbered table


def tables() -> list[TableShape]:
    """Every table of the current schema, in creation order."""
    from engine.ledger.schema import MIGRATIONS, statements

    found: dict[str, TableShape] = {}
    seeded: set[str] = {META}
    for version in sorted(MIGRATIONS):
        for statement in statements(MIGRATIONS[version]):  # one statement each, as run
            if m := _CREATE.match(statement):
                counter = _COUNTER.search(m.group(2))
                shape = TableShape(m.group(1), counter.group(1) if counter else None, False)
                found[shape.name] = shape
            elif m := _RENAME.search(statement):
                if m.group(1) in found:
                    found[m.group(2)] = found.pop(m.group(1))._replace(name=m.group(2))
            elif m := _DROP.search(statement):
                found.pop(m.group(1), None)
            elif m := _SEEDED.search(statement):
                seeded.add(m.group(1))
    return [t._replace(seeded=t.name in seeded) for t in found.values()]


def schema_version(ledger: Ledger) -> int:
    row = ledger.db.conn.execute(f"SELECT value FROM {META} WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else 0


def backend(ledger: Ledger) -> str:
    return str(getattr(ledger, "backend", "sqlite"))


def occupied(ledger: Ledger) -> dict[str, int]:
    """The tables that hold rows an empty ledger would not have, with their counts."""
    out: dict[str, int] = {}
    for table in tables():
        if table.seeded:
            continue  # the schema's own rows; the copy replaces them
        n = _count(ledger, table.name)
        if n:
            out[table.name] = n
    return out


def columns(ledger: Ledger, table: str) -> list[str]:
    cur = ledger.db.conn.execute(f"SELECT * FROM {table} WHERE 1=0")
    return [str(d[0]) for d in cur.description or ()]


def fingerprint(ledger: Ledger, table: TableShape, cols: Sequence[str]) -> Fingerprint:
    """Rows, an order-free content hash over the named columns, and the counter."""
    total, rows = 0, 0
    for batch in _batches(ledger, f"SELECT {', '.join(cols)} FROM {table.name}", BATCH_ROWS):
        for row in batch:
            # repr is exact for str, int and float (a REAL's every bit) and tells 1 from
            # 1.0 and '1': a value that changed type on the way is a difference.
            h = hashlib.sha256(repr(tuple(row)).encode("utf-8", "surrogatepass")).digest()
            total = (total + int.from_bytes(h, "big")) % (1 << 256)
            rows += 1
    next_id = _counter(ledger, table) if table.counter else None
    return Fingerprint(rows, f"{total:064x}", next_id)


@contextmanager
def copy_into(
    source: Ledger,
    target: Ledger,
    *,
    progress: Callable[[str, int, bool], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[dict[str, list[str]]]:
    """Copy every table of `source` into `target` in one transaction on the target.

    Yields (inside that transaction, before the commit) the columns copied per table, for
    the caller to verify the copy: an exception from the caller's block rolls the whole copy
    back. The caller holds the source still (a transaction or snapshot) around this.
    """
    with target.transaction(durable=True):
        full = occupied(target)  # again under the target's write lock: nobody got in since
        if full:
            raise TargetOccupied(target.path, full)
        copied: dict[str, list[str]] = {}
        for table in tables():
            cols = columns(source, table.name)
            copied[table.name] = cols
            n = _copy_table(source, target, table, cols, batch_rows, progress)
            if table.counter:
                _set_counter(target, table, _counter(source, table))
            if progress is not None:
                progress(table.name, n, True)
        yield copied


def _copy_table(
    source: Ledger,
    target: Ledger,
    table: TableShape,
    cols: list[str],
    batch_rows: int,
    progress: Callable[[str, int, bool], None] | None,
) -> int:
    conn = target.db.conn
    names = ", ".join(cols)
    if table.name == META:
        # the target's own version row stays (equal, checked by the caller); other keys
        # are the source's
        keys = [r[0] for r in source.db.conn.execute(f"SELECT key FROM {META}")]
        conn.executemany(f"DELETE FROM {META} WHERE key=?", [(k,) for k in keys])
    elif table.seeded:
        conn.execute(f"DELETE FROM {table.name}")
    # An explicit id into a PostgreSQL identity column needs OVERRIDING SYSTEM VALUE
    # (harmless for a BY DEFAULT one); SQLite takes the id as it is.
    override = (
        " OVERRIDING SYSTEM VALUE" if table.counter and backend(target) == "postgresql" else ""
    )
    insert = f"INSERT INTO {table.name} ({names}){override} VALUES ({', '.join('?' for _ in cols)})"
    done = 0
    for batch in _batches(source, f"SELECT {names} FROM {table.name}", batch_rows):
        _insert_rows(target, insert, batch)
        done += len(batch)
        if progress is not None and done % (batch_rows * 10) == 0:
            progress(table.name, done, False)  # a long table's heartbeat
    return done


def _batches(ledger: Ledger, sql: str, size: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of a query, `size` at a time, never the whole table in memory at once."""
    db: Any = ledger.db
    if backend(ledger) == "postgresql":
        # A server-side cursor: psycopg's ordinary one fetches every row before the first.
        # It lives in the caller's transaction (the copy holds the source still).
        with db.conn.raw.cursor(name="gastown_transfer") as cur:
            cur.itersize = size
            cur.execute(sql)
            while batch := cur.fetchmany(size):
                yield [tuple(r) for r in batch]
        return
    cur = db.conn.execute(sql)
    while batch := cur.fetchmany(size):
        yield [tuple(r) for r in batch]


def _insert_rows(target: Ledger, insert: str, rows: list[tuple[Any, ...]]) -> None:
    target.db.conn.executemany(insert, rows)


def _count(ledger: Ledger, table: str) -> int:
    return int(ledger.db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _counter(ledger: Ledger, table: TableShape) -> int:
    """The last id the table's counter handed out (ids deleted since stay used)."""
    conn = ledger.db.conn
    if backend(ledger) == "postgresql":
        seq = conn.execute(
            "SELECT pg_get_serial_sequence(?, ?)", (table.name, table.counter)
        ).fetchone()[0]
        row = conn.execute(f"SELECT last_value, is_called FROM {seq}").fetchone()
        return int(row[0]) if row[1] else 0
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name=?", (table.name,)).fetchone()
    return int(row[0]) if row else 0


def _set_counter(ledger: Ledger, table: TableShape, value: int) -> None:
    """The next id after `value`: new rows never reuse an id the source handed out."""
    conn = ledger.db.conn
    if backend(ledger) == "postgresql":
        seq = conn.execute(
            "SELECT pg_get_serial_sequence(?, ?)", (table.name, table.counter)
        ).fetchone()[0]
        if value > 0:
            conn.execute("SELECT setval(CAST(? AS regclass), ?, true)", (seq, value))
        else:
            conn.execute("SELECT setval(CAST(? AS regclass), 1, false)", (seq,))
        return
    conn.execute("DELETE FROM sqlite_sequence WHERE name=?", (table.name,))
    if value > 0:
        conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)", (table.name, value))
