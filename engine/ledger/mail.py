"""Mail: durable messages, stored as beads of type `message` (Beads' own model).

A message's `assignee` is its addressee, `created_by` its sender; open means unread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.errors import NotFound, UsageError
from engine.ledger import rows
from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.records import MailMessage


class MailStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    def send(
        self, *, sender: str, to: str, subject: str, body: str = "", reply_to: str | None = None
    ) -> MailMessage:
        if not subject.strip():
            raise UsageError("mail needs a subject")
        with self.db.write(durable=True) as conn:
            if reply_to:
                parent = conn.execute("SELECT type FROM beads WHERE id=?", (reply_to,)).fetchone()
                if parent is None or parent[0] != "message":
                    raise NotFound(f"no message {reply_to} to reply to")
            mid = self.deliver(sender=sender, to=to, subject=subject, body=body, reply_to=reply_to)
            return self.require(mid)

    def deliver(
        self,
        *,
        sender: str,
        to: str,
        subject: str,
        body: str = "",
        reply_to: str | None = None,
    ) -> str:
        conn = self.db.conn
        mid = self.ledger.beads.insert(
            title=subject.strip().splitlines()[0][:200],
            rig=None,
            bead_type="message",
            priority=2,
            body=body,
            created_by=sender,
            assignee=to,
        )
        if reply_to:
            self.ledger.graph._insert(
                conn, mid, reply_to, "replies-to", iso(self.ledger.now()), sender, {}
            )
        return mid

    def get(self, mid: str) -> MailMessage | None:
        row = self.db.conn.execute(
            "SELECT * FROM beads WHERE id=? AND type='message'", (mid,)
        ).fetchone()
        if row is None:
            return None
        msg: Any = rows.bead(row)  # a Bead, made a MailMessage below
        reply = self.db.conn.execute(
            "SELECT depends_on FROM deps WHERE bead_id=? AND type='replies-to'", (mid,)
        ).fetchone()
        msg["reply_to"] = reply[0] if reply else None
        msg["from"], msg["to"], msg["subject"] = msg["created_by"], msg["assignee"], msg["title"]
        msg["read"] = msg["status"] != vocab.OPEN
        return msg

    def require(self, mid: str) -> MailMessage:
        msg = self.get(mid)
        if msg is None:
            raise NotFound(f"no message {mid}")
        return msg

    def inbox(self, addresses: list[str], *, unread_only: bool = False) -> list[MailMessage]:
        marks = ",".join("?" for _ in addresses)
        sql = f"SELECT id FROM beads WHERE type='message' AND assignee IN ({marks})"
        if unread_only:
            sql += " AND status='open'"
        ids = [
            r[0]
            for r in self.db.conn.execute(sql + " ORDER BY created_at DESC, seq DESC", addresses)
        ]
        return [self.require(i) for i in ids]

    def unread_count(self, addresses: list[str]) -> int:
        marks = ",".join("?" for _ in addresses)
        return int(
            self.db.conn.execute(
                f"SELECT count(*) FROM beads WHERE type='message' AND status='open' "
                f"AND assignee IN ({marks})",
                addresses,
            ).fetchone()[0]
        )

    def mark_read(self, mid: str, *, reader: str) -> MailMessage:
        with self.db.write() as conn:
            msg = self.require(mid)
            if not msg["read"]:
                now = iso(self.ledger.now())
                conn.execute(
                    "UPDATE beads SET status='closed', closed_at=?, updated_at=?, "
                    "close_reason='read' WHERE id=?",
                    (now, now, mid),
                )
                record_event(conn, mid, "read", reader, now, {})
            return self.require(mid)

    def file_escalation(
        self,
        *,
        title: str,
        body: str,
        severity: str,
        priority: int,
        actor: str,
        source: str | None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """An escalation bead (town-level), as its caller worded it; engine/escalations.py
        files it and mails the mayor in one transaction."""
        return self.ledger.beads.insert(
            title=title,
            rig=None,
            bead_type="escalation",
            priority=priority,
            body=body,
            created_by=actor,
            metadata={"severity": severity, "source": source, **(extra or {})},
        )
