"""The merge queue's records: requests, their states, and the landing that closes beads.

States: queued → testing → landing → landed; or failed, conflict, rejected, dropped,
awaiting_approval. A landing is written before the target branch moves and confirmed after,
so a crash in between is resolved on restart by looking at the branch: nothing lands twice.
What a failed or conflicting request sends back to its bead is in mq_send_back.py.
"""

from __future__ import annotations

import builtins
import json
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.errors import Conflict, NotFound
from engine.ledger import mq_send_back
from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from collections.abc import Sequence

    from engine.ledger import Ledger
    from engine.ledger.db import Conn, Row
    from engine.records import MergeRequest, QueuedMergeRequest

OPEN_STATES = ("queued", "testing", "landing", "awaiting_approval")
FINAL_STATES = ("landed", "failed", "conflict", "rejected", "dropped")


# Any: a MergeRequest, or a QueuedMergeRequest when the row comes from `list`'s join.
def _mr(row: Row) -> Any:
    d = dict(row)
    d["id"] = d["bead_id"]
    d["commit"] = d.pop("commit_sha")
    return d


class MergeQueueStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    # ---- reads ---------------------------------------------------------------------------

    def get(self, mr_id: str) -> MergeRequest | None:
        row = self.db.conn.execute(
            "SELECT * FROM merge_requests WHERE bead_id=?", (mr_id,)
        ).fetchone()
        return _mr(row) if row else None

    def require(self, mr_id: str) -> MergeRequest:
        mr = self.get(mr_id)
        if mr is None:
            raise NotFound(f"no merge request {mr_id} (see `gt mq list`)")
        return mr

    def list(
        self, *, rig: str | None = None, states: Sequence[str] | None = None
    ) -> builtins.list[QueuedMergeRequest]:
        sql = (
            "SELECT m.*, b.status AS source_status, b.title AS source_title, "
            "(SELECT min(cb.created_at) FROM deps d JOIN beads cb ON cb.id=d.bead_id "
            " WHERE d.depends_on=m.source_bead AND d.type='tracks') AS convoy_created_at "
            "FROM merge_requests m LEFT JOIN beads b ON b.id=m.source_bead WHERE 1=1"
        )
        args: builtins.list[Any] = []
        if rig:
            sql += " AND m.rig=?"
            args.append(rig)
        if states:
            sql += f" AND m.state IN ({','.join('?' for _ in states)})"
            args.extend(states)
        return [_mr(r) for r in self.db.conn.execute(sql + " ORDER BY m.created_at", args)]

    def queue(self, rig: str) -> builtins.list[QueuedMergeRequest]:
        """Queued requests in landing order: priority, convoy age, request age; retries
        push a request back (each retry counts as one priority step)."""
        mrs = self.list(rig=rig, states=("queued",))
        return sorted(
            mrs,
            key=lambda m: (
                m["priority"] + m["retries"],
                m["convoy_created_at"] or m["created_at"],
                m["created_at"],
                m["bead_id"],
            ),
        )

    # ---- transitions ---------------------------------------------------------------------

    def set_state(
        self,
        ids: Sequence[str],
        state: str,
        *,
        batch: str | None = None,
        data: dict[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        with self.db.write(durable=True) as conn:
            now = iso(self.ledger.now())
            sets = {"state": state, "updated_at": now, **fields}
            if batch is not None:
                sets["batch"] = batch
            cols = ", ".join(f"{k}=?" for k in sets)
            for mr_id in ids:
                conn.execute(
                    f"UPDATE merge_requests SET {cols} WHERE bead_id=?", (*sets.values(), mr_id)
                )
                record_event(conn, mr_id, f"mq_{state}", "refinery", now, data or {})

    def begin_landing(self, ids: Sequence[str], commit: str, batch: str) -> None:
        self.set_state(ids, "landing", batch=batch, merged_commit=commit)

    def finish_landing(
        self, ids: Sequence[str], *, commit: str, landed_reason: str, merged_reason: str
    ) -> builtins.list[str]:
        """The branch moved: close the requests (with `landed_reason`) and their beads
        (with `merged_reason`), which unblocks downstream beads and may land convoys.
        Returns the closed source beads."""
        closed = []
        with self.db.write(durable=True) as conn:
            beads = self.ledger.beads
            now = iso(self.ledger.now())
            for mr_id in ids:
                mr = self.require(mr_id)
                if mr["state"] == "landed":
                    continue  # idempotent: a repeated confirmation changes nothing
                conn.execute(
                    "UPDATE merge_requests SET state='landed', merged_commit=?, "
                    "updated_at=? WHERE bead_id=?",
                    (commit, now, mr_id),
                )
                record_event(conn, mr_id, "mq_landed", "refinery", now, {"commit": commit})
                beads.set_status(
                    mr_id,
                    vocab.CLOSED,
                    actor="refinery",
                    kind="merged",
                    fields={"close_reason": landed_reason},
                )
                for source in self._sources(conn, mr["source_bead"]):
                    status = conn.execute(
                        "SELECT status FROM beads WHERE id=?", (source,)
                    ).fetchone()
                    if status and status[0] not in vocab.FINAL_STATUSES:
                        beads.set_status(
                            source,
                            vocab.CLOSED,
                            actor="refinery",
                            kind="merged",
                            data={"merge_request": mr_id, "commit": commit},
                            fields={"close_reason": merged_reason, "assignee": None},
                        )
                        closed.append(source)
        return closed

    def _sources(self, conn: Conn, bead_id: str) -> builtins.list[str]:
        """The bead, and the bead it reworks (a rework's landing lands the original too)."""
        out = [bead_id]
        row = conn.execute("SELECT metadata FROM beads WHERE id=?", (bead_id,)).fetchone()
        if row:
            original = json.loads(row[0]).get("rework_of")
            if original:
                out.append(original)
        return out

    def fail(
        self,
        mr_id: str,
        *,
        reason: str,
        log: str | None,
        failures: int,
        retry_in: float | None,
        back_reason: str,
        failed_reason: str,
        mail_subject: str,
    ) -> dict[str, Any]:
        """Gates failed; `failures` and `retry_in` as decided for the source bead (see
        `source_failures`), the words as `mq_send_back.send_back` takes them."""
        return mq_send_back.fail(
            self,
            mr_id,
            reason=reason,
            log=log,
            failures=failures,
            retry_in=retry_in,
            back_reason=back_reason,
            failed_reason=failed_reason,
            mail_subject=mail_subject,
        )

    def source_failures(self, mr_id: str) -> int:
        """How often the request's source bead has failed so far: what a retry decision
        for it is made on (read it inside the transaction that writes the decision)."""
        row = self.db.conn.execute(
            "SELECT b.failures FROM merge_requests m JOIN beads b ON b.id=m.source_bead "
            "WHERE m.bead_id=?",
            (mr_id,),
        ).fetchone()
        return int(row[0]) if row else 0

    def conflict(
        self,
        mr_id: str,
        *,
        files: builtins.list[str],
        base_commit: str,
        rework_title: str,
        rework_body: str,
    ) -> str:
        return mq_send_back.conflict(
            self,
            mr_id,
            files=files,
            base_commit=base_commit,
            rework_title=rework_title,
            rework_body=rework_body,
        )

    def requeue_rebased(self, mr_id: str, commit: str) -> None:
        with self.db.write(durable=True) as conn:
            now = iso(self.ledger.now())
            conn.execute(
                "UPDATE merge_requests SET state='queued', commit_sha=?, "
                "retries=retries+1, updated_at=? WHERE bead_id=?",
                (commit, now, mr_id),
            )
            record_event(conn, mr_id, "mq_rebased", "refinery", now, {"commit": commit})

    def drop(self, mr_id: str, reason: str) -> None:
        self.set_state([mr_id], "dropped", data={"reason": reason}, failure=reason)
        with self.db.write():
            self.ledger.beads.set_status(
                mr_id,
                vocab.CANCELLED,
                actor="refinery",
                kind="dropped",
                fields={"close_reason": reason},
            )

    # ---- people's commands ---------------------------------------------------------------

    def retry(self, mr_id: str, *, actor: str) -> MergeRequest:
        with self.db.write(durable=True) as conn:
            mr = self.require(mr_id)
            if mr["state"] not in ("failed", "conflict", "rejected"):
                raise Conflict(
                    f"{mr_id} is {mr['state']}; only a failed, conflicting or "
                    f"rejected request can be retried"
                )
            now = iso(self.ledger.now())
            conn.execute(
                "UPDATE merge_requests SET state='queued', retries=retries+1, "
                "failure=NULL, updated_at=? WHERE bead_id=?",
                (now, mr_id),
            )
            self.ledger.beads.set_status(
                mr_id,
                vocab.OPEN,
                actor=actor,
                kind="mq_retry",
                fields={"closed_at": None, "close_reason": None},
            )
            source = conn.execute(
                "SELECT status FROM beads WHERE id=?", (mr["source_bead"],)
            ).fetchone()
            if source and source[0] not in (vocab.IN_REVIEW, vocab.CLOSED):
                self.ledger.beads.set_status(
                    mr["source_bead"],
                    vocab.IN_REVIEW,
                    actor=actor,
                    kind="mq_retry",
                    fields={"assignee": None, "closed_at": None},
                )
            return self.require(mr_id)

    def reject(
        self,
        mr_id: str,
        *,
        reason: str,
        actor: str,
        failures: int,
        retry_in: float | None,
        back_reason: str,
        failed_reason: str,
        mail_subject: str,
    ) -> MergeRequest:
        """A person (or the refinery) refused the work; the source bead goes back as
        decided (`failures`, `retry_in`: see `source_failures`), the words as
        `mq_send_back.send_back` takes them."""
        with self.db.write(durable=True) as conn:
            mr = self.require(mr_id)
            if mr["state"] in ("landed", "landing"):
                raise Conflict(f"{mr_id} is {mr['state']}; it cannot be rejected")
            now = iso(self.ledger.now())
            conn.execute(
                "UPDATE merge_requests SET state='rejected', failure=?, updated_at=? "
                "WHERE bead_id=?",
                (reason, now, mr_id),
            )
            record_event(conn, mr_id, "mq_rejected", actor, now, {"reason": reason})
            self.ledger.beads.set_status(
                mr_id,
                vocab.FAILED,
                actor=actor,
                kind="rejected",
                fields={"close_reason": reason},
            )
            mq_send_back.send_back(
                self,
                conn,
                mr,
                reason=back_reason,
                failures=failures,
                retry_in=retry_in,
                failed_reason=failed_reason,
                mail_subject=mail_subject,
            )
            return self.require(mr_id)

    def approve(self, mr_id: str, *, actor: str) -> MergeRequest:
        with self.db.write(durable=True) as conn:
            mr = self.require(mr_id)
            if mr["state"] != "awaiting_approval":
                raise Conflict(f"{mr_id} is {mr['state']}, not awaiting approval")
            now = iso(self.ledger.now())
            conn.execute(
                "UPDATE merge_requests SET state='queued', approved=1, updated_at=? "
                "WHERE bead_id=?",
                (now, mr_id),
            )
            record_event(conn, mr_id, "mq_approved", actor, now, {})
            return self.require(mr_id)

    # ---- recovery ------------------------------------------------------------------------

    def in_flight(self, rig: str) -> builtins.list[QueuedMergeRequest]:
        return self.list(rig=rig, states=("testing", "landing"))
