"""Small pieces of town-wide state that must survive restarts (the circuit breaker...)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.records import EventRow


class StateStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    def get(self, key: str, default: Any = None) -> Any:
        row = self.db.conn.execute("SELECT value FROM town_state WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def put(self, key: str, value: Any) -> None:
        """Joins the caller's `ledger.transaction()`, or is one on its own."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO town_state(key, value) VALUES (?,?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, json.dumps(value)),
            )

    def record_event(
        self,
        kind: str,
        *,
        bead_id: str | None = None,
        actor: str | None = None,
        data: dict[str, Any] | None = None,
        at: str | None = None,
    ) -> None:
        """Append one event (a kind registered in engine/events/) for code outside the
        ledger; `at` defaults to the ledger's clock now. Joins an open transaction."""
        from engine.ledger.graph import record_event
        from engine.timeutil import iso

        with self.db.write() as conn:
            record_event(conn, bead_id, kind, actor, at or iso(self.ledger.now()), data)

    def recent_events(self, kinds: tuple[str, ...], since_iso: str) -> int:
        marks = ",".join("?" for _ in kinds)
        return int(
            self.db.conn.execute(
                f"SELECT count(*) FROM events WHERE kind IN ({marks}) AND at >= ?",
                (*kinds, since_iso),
            ).fetchone()[0]
        )

    def events_after(self, last_id: int, limit: int = 500) -> list[EventRow]:
        out: list[Any] = []  # EventRows, built from the rows' columns
        for r in self.db.conn.execute(
            "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", (last_id, limit)
        ):
            d = dict(r)
            d["data"] = json.loads(d["data"])
            out.append(d)
        return out

    def last_event_id(self) -> int:
        return int(self.db.conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0])

    def delete_events(
        self, *, below_id: int, before_iso: str, bead_statuses: tuple[str, ...], limit: int
    ) -> int:
        """Delete up to `limit` events (oldest first) with an id below `below_id`, older
        than `before_iso`, town-wide or of a bead in `bead_statuses` (or no longer in the
        ledger). Ids are never reused (AUTOINCREMENT), so a reader following by id is not
        disturbed. Joins the caller's transaction, or is one on its own."""
        marks = ",".join("?" for _ in bead_statuses)
        with self.db.write() as conn:
            cur = conn.execute(
                "DELETE FROM events WHERE id IN (SELECT e.id FROM events e "
                "LEFT JOIN beads b ON b.id=e.bead_id WHERE e.id < ? AND e.at < ? "
                f"AND (e.bead_id IS NULL OR b.id IS NULL OR b.status IN ({marks})) "
                "ORDER BY e.id LIMIT ?)",
                (below_id, before_iso, *bead_statuses, limit),
            )
            return int(cur.rowcount)

    def last_event_id_before(self, at_iso: str) -> int:
        """The id after which the events at or after `at_iso` begin (`gt feed --since`)."""
        row = self.db.conn.execute(
            "SELECT coalesce(max(id), 0) FROM events WHERE at < ?", (at_iso,)
        ).fetchone()
        return int(row[0])

    def recent(self, *, bead_id: str | None = None, limit: int = 30) -> list[EventRow]:
        """The newest events (of one bead, or of the town), oldest first."""
        if bead_id:
            sql, args = (
                "SELECT * FROM events WHERE bead_id=? ORDER BY id DESC LIMIT ?",
                (bead_id, limit),
            )
        else:
            sql, args = "SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,)  # type: ignore[assignment]
        out: list[Any] = [  # EventRows, built from the rows' columns
            {**dict(r), "data": json.loads(r["data"])} for r in self.db.conn.execute(sql, args)
        ]
        return list(reversed(out))
