"""The engine's inbox: requests written by any process, applied by the engine.

Applied idempotently; a request that keeps failing is parked (kept, with its error) rather
than retried forever.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.records import InboxItem, ParkedInboxItem

MAX_TRIES = 5


class InboxStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    def put(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        actor: str | None = None,
        attempt: int | None = None,
    ) -> int:
        with self.db.write(durable=True) as conn:
            row = conn.execute(
                "INSERT INTO inbox(at, kind, actor, attempt, payload) VALUES (?,?,?,?,?) "
                "RETURNING id",
                (iso(self.ledger.now()), kind, actor, attempt, json.dumps(payload)),
            ).fetchone()
            return int(row[0])

    def pending(self, limit: int = 200) -> list[InboxItem]:
        out: list[Any] = []  # InboxItems, built from the rows' columns
        for r in self.db.conn.execute(
            "SELECT * FROM inbox WHERE state='pending' ORDER BY id LIMIT ?", (limit,)
        ):
            d = dict(r)
            d["payload"] = json.loads(d["payload"])
            out.append(d)
        return out

    def done(self, item_id: int) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE inbox SET state='done' WHERE id=?", (item_id,))

    def failed(self, item_id: int, error: str) -> bool:
        """Record a failure; returns True when the request is now parked."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE inbox SET tries=tries+1, error=?, state=CASE WHEN tries+1 >= ? "
                "THEN 'parked' ELSE 'pending' END WHERE id=?",
                (error, MAX_TRIES, item_id),
            )
            row = conn.execute("SELECT state FROM inbox WHERE id=?", (item_id,)).fetchone()
            return bool(row and row[0] == "parked")

    def parked(self) -> list[ParkedInboxItem]:
        parked: list[Any] = [  # ParkedInboxItems: the rows' columns as stored
            dict(r)
            for r in self.db.conn.execute("SELECT * FROM inbox WHERE state='parked' ORDER BY id")
        ]
        return parked
