"""Refinery leases: which engine runs a rig's merge queue, town-wide, for how long.

One row per rig. A holder takes the lease when there is none, when it has expired, or when
the row names the holder itself (the same town directory on the same machine: only one
engine runs there at a time, so the earlier holder is a crashed or stopped engine).
Every take draws a new token and bumps the epoch; a landing is recorded only in a
transaction that still finds its holder's token unexpired (`is_held`), so a holder that
lost its lease can never record a landing, however late its call arrives.

Times are the ledger clock's seconds (REAL), like `beads.not_before`.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.records import RefineryLease


def _lease(row: Any) -> RefineryLease:
    return {
        "rig": row["rig"],
        "holder": row["holder"],
        "token": row["token"],
        "epoch": int(row["epoch"]),
        "expires_at": float(row["expires_at"]),
    }


class RefineryLeaseStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    def get(self, rig: str) -> RefineryLease | None:
        row = self.db.conn.execute(
            "SELECT rig, holder, token, epoch, expires_at FROM refinery_leases WHERE rig=?",
            (rig,),
        ).fetchone()
        return _lease(row) if row else None

    def acquire(
        self, rig: str, holder: str, seconds: float, *, token: str | None = None
    ) -> tuple[RefineryLease | None, RefineryLease | None]:
        """Take or keep the rig's lease for `seconds`: (the lease now held, or None when
        another holder's lease is still valid; the lease as it was before).

        `token`: the caller's current token; when it is still the row's, the lease is only
        extended (same epoch), so a renewal never looks like a take-over."""
        with self.db.write(durable=True) as conn:
            now = self.ledger.now()
            before = self.get(rig)
            if before is not None:
                mine = before["holder"] == holder or (token and before["token"] == token)
                if not mine and before["expires_at"] > now:
                    return None, before
                if token and before["token"] == token:
                    conn.execute(
                        "UPDATE refinery_leases SET expires_at=? WHERE rig=? AND token=?",
                        (now + seconds, rig, token),
                    )
                    return self.get(rig), before
            new_token = secrets.token_hex(16)
            epoch = (before["epoch"] if before else 0) + 1
            conn.execute(
                "INSERT INTO refinery_leases(rig, holder, token, epoch, expires_at) "
                "VALUES (?,?,?,?,?) ON CONFLICT (rig) DO UPDATE SET holder=excluded.holder, "
                "token=excluded.token, epoch=excluded.epoch, expires_at=excluded.expires_at",
                (rig, holder, new_token, epoch, now + seconds),
            )
            return self.get(rig), before

    def renew(self, rig: str, token: str, seconds: float) -> bool:
        """Extend a lease still held under `token` (expired but not taken counts: nobody
        else can have landed meanwhile, their take would have changed the token)."""
        with self.db.write(durable=True) as conn:
            cur = conn.execute(
                "UPDATE refinery_leases SET expires_at=? WHERE rig=? AND token=?",
                (self.ledger.now() + seconds, rig, token),
            )
            return bool(cur.rowcount)

    def release(self, rig: str, token: str) -> None:
        """Give the lease up at once (a clean stop): the row stays, expired, so the epoch
        keeps counting."""
        with self.db.write(durable=True) as conn:
            conn.execute(
                "UPDATE refinery_leases SET expires_at=0 WHERE rig=? AND token=?", (rig, token)
            )

    def is_held(self, rig: str, token: str) -> bool:
        """Whether `token` holds the rig's lease now. Call it inside the transaction that
        records what only the holder may record: the check and the write commit together."""
        lease = self.get(rig)
        return (
            lease is not None
            and lease["token"] == token
            and lease["expires_at"] > self.ledger.now()
        )
