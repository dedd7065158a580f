"""Bead reads: one bead, lists, readiness, blocked work, history, dispatch candidates.

A mixin of BeadStore (``ledger.beads``), which holds the writes: the queries keep the
store's method names, so callers read and write through one object.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Literal, overload

from engine import vocab
from engine.errors import NotFound
from engine.ledger import rows

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.ledger.db import AnyDb, Row
    from engine.records import Bead, BeadWithExtra, BlockedBead, EventRow

_RECORDS_SQL = "(" + ",".join(f"'{t}'" for t in vocab.RECORD_TYPES) + ")"
_FINAL_SQL = "(" + ",".join(f"'{s}'" for s in sorted(vocab.FINAL_STATUSES)) + ")"


class BeadQueries:
    ledger: Ledger
    db: AnyDb

    # With extra=True the bead carries `extra` (a BeadWithExtra): the overloads tell mypy.
    @overload
    def get(self, bead_id: str, *, extra: Literal[False] = False) -> Bead | None: ...
    @overload
    def get(self, bead_id: str, *, extra: Literal[True]) -> BeadWithExtra | None: ...
    @overload
    def get(self, bead_id: str, *, extra: bool) -> Bead | None: ...
    def get(self, bead_id: str, *, extra: bool = False) -> Bead | BeadWithExtra | None:
        row = self.db.conn.execute("SELECT * FROM beads WHERE id=?", (bead_id,)).fetchone()
        return rows.bead(row, extra=extra) if row else None

    @overload
    def require(self, bead_id: str, *, extra: Literal[False] = False) -> Bead: ...
    @overload
    def require(self, bead_id: str, *, extra: Literal[True]) -> BeadWithExtra: ...
    @overload
    def require(self, bead_id: str, *, extra: bool) -> Bead: ...
    def require(self, bead_id: str, *, extra: bool = False) -> Bead | BeadWithExtra:
        found = self.get(bead_id, extra=extra)
        if found is None:
            raise NotFound(self._missing(bead_id))
        return found

    def missing(self, bead_id: str) -> str:
        """Why an id names no bead, in words (an unknown prefix is named)."""
        return self._missing(bead_id)

    def _missing(self, bead_id: str) -> str:
        prefix, sep, _ = bead_id.rpartition("-")
        if not sep:
            return f"{bead_id!r} is not a bead id (ids look like gt-a1b2)"
        known = {
            vocab.TOWN_PREFIX,
            *(r[0] for r in self.db.conn.execute("SELECT prefix FROM rigs")),
        }
        head = prefix.split("-")[0]
        if head not in known:
            return f"no bead {bead_id}: unknown prefix {head!r} (known: {', '.join(sorted(known))})"
        return f"no bead {bead_id}"

    def list(
        self,
        *,
        rig: str | None = None,
        status: str | None = None,
        bead_type: str | None = None,
        label: str | None = None,
        include_records: bool = True,
        limit: int | None = None,
    ) -> builtins.list[Bead]:
        where, args = [], []  # type: ignore[var-annotated]
        if rig:
            where.append("rig=?")
            args.append(rig)
        if status:
            where.append("status=?")
            args.append(status)
        if bead_type:
            where.append("type=?")
            args.append(bead_type)
        elif not include_records:
            where.append(f"type NOT IN {_RECORDS_SQL}")
        if label:
            where.append("id IN (SELECT bead_id FROM labels WHERE label=?)")
            args.append(label)
        sql = "SELECT * FROM beads"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY priority, created_at, seq"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [rows.bead(r) for r in self.db.conn.execute(sql, args)]

    def ready(
        self, *, rig: str | None = None, include_records: bool = False, limit: int | None = None
    ) -> builtins.list[Bead]:
        """Beads' readiness rule: open, not ephemeral, not deferred, not blocked."""
        sql = (
            "SELECT * FROM beads WHERE status='open' AND blocked=0 AND ephemeral=0 "
            "AND (defer_chain IS NULL OR defer_chain <= ?)"
        )
        args: builtins.list[Any] = [self.ledger.now()]
        if rig:
            sql += " AND rig=?"
            args.append(rig)
        if not include_records:
            sql += f" AND type NOT IN {_RECORDS_SQL}"
        sql += " ORDER BY priority, created_at, seq"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [rows.bead(r) for r in self.db.conn.execute(sql, args)]

    def blocked(self, *, rig: str | None = None) -> builtins.list[BlockedBead]:
        """Beads not yet final that are blocked, each with what blocks it."""
        sql = f"SELECT * FROM beads WHERE blocked=1 AND status NOT IN {_FINAL_SQL}"
        args: builtins.list[Any] = []
        if rig:
            sql += " AND rig=?"
            args.append(rig)
        sql += " ORDER BY priority, created_at, seq"
        with self.db.read():
            out: builtins.list[BlockedBead] = []
            graph = self.ledger.graph
            for r in self.db.conn.execute(sql, args).fetchall():
                bead: Any = rows.bead(r)  # a Bead, made a BlockedBead on the next line
                bead["blocked_by"] = graph.blockers(bead["id"])
                out.append(bead)
            return out

    def status_counts(self, *, rig: str | None = None) -> dict[str, int]:
        """Work beads by status (records such as mail and convoys left out)."""
        sql = f"SELECT status, count(*) FROM beads WHERE type NOT IN {_RECORDS_SQL}"
        args: builtins.list[Any] = []
        if rig:
            sql += " AND rig=?"
            args.append(rig)
        return {r[0]: r[1] for r in self.db.conn.execute(sql + " GROUP BY status", args)}

    def history(self, bead_id: str) -> builtins.list[EventRow]:
        return [
            rows.event(r)
            for r in self.db.conn.execute(
                "SELECT * FROM events WHERE bead_id=? ORDER BY id", (bead_id,)
            )
        ]

    def dispatch_candidates(
        self,
        *,
        after: tuple[Any, ...] | None,
        limit: int,
        only: str | None = None,
    ) -> builtins.list[Row]:
        """Slung, ready, unassigned work in priority-then-age order (keyset pages)."""
        conn = self.db.conn
        types = ",".join(f"'{t}'" for t in vocab.WORK_TYPES)
        sql = (
            "SELECT id, rig, labels, metadata, priority, created_at, seq, not_before, type,"
            " runtime "
            "FROM beads "
            "WHERE slung=1 AND status='open' AND blocked=0 AND ephemeral=0 "
            f"AND assignee IS NULL AND type IN ({types}) "
            "AND (defer_chain IS NULL OR defer_chain <= ?)"
        )
        args: builtins.list[Any] = [self.ledger.now()]
        if only:
            sql += " AND id=?"
            args.append(only)
        if after:
            sql += " AND (priority, created_at, seq) > (?,?,?)"
            args.extend(after)
        sql += " ORDER BY priority, created_at, seq LIMIT ?"
        # The claim's rows, locked (PostgreSQL; nothing on SQLite, which has one writer):
        # under the ledger's write lock no other engine holds them, and should that lock
        # ever narrow, a competing engine skips them instead of queueing behind them.
        sql += self.ledger.skip_locked()
        args.append(limit)
        return conn.execute(sql, args).fetchall()

    def runtimes_named(self) -> set[str]:
        """The runtimes named by beads that are not final (a partial index: cheap)."""
        sql = (
            "SELECT DISTINCT runtime FROM beads WHERE runtime IS NOT NULL "
            f"AND status NOT IN {_FINAL_SQL}"
        )
        return {r[0] for r in self.db.conn.execute(sql)}

    def failure_count(self, bead_id: str) -> int:
        """Failed attempts so far (0 for no such bead): what a retry decision is made on."""
        row = self.db.conn.execute("SELECT failures FROM beads WHERE id=?", (bead_id,)).fetchone()
        return int(row[0]) if row else 0

    def staged_convoy_of(self, bead_id: str) -> str | None:
        conn = self.db.conn
        row = conn.execute(
            "SELECT c.bead_id FROM deps d JOIN convoys c ON c.bead_id=d.bead_id "
            "JOIN beads b ON b.id=c.bead_id WHERE d.depends_on=? AND d.type='tracks' "
            "AND b.status='staged' LIMIT 1",
            (bead_id,),
        ).fetchone()
        return row[0] if row else None
