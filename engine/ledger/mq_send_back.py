"""Work the merge queue sends back: gates that failed and branches that no longer merge.

The source bead returns to open with the failure attached (preferring the same polecat),
or fails when the caller says its attempts are used up; a conflict becomes a rework bead
for that polecat. Storage only: how many attempts and how long to wait are decided by the
caller (engine/policy.py), and the rework bead's words are written by the refinery
(engine/refinery/send_back.py). Plain functions MergeQueueStore (``ledger.mq``) delegates to.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.ledger import rows
from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.ledger.db import Conn
    from engine.ledger.merge_queue import MergeQueueStore
    from engine.records import MergeRequest


def fail(
    queue: MergeQueueStore,
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
    """Gates failed: the bead goes back to open with the failure attached (preferring
    the same polecat), or fails when `retry_in` is None (its attempts are used up).
    The words are the caller's: see `send_back`."""
    with queue.db.write(durable=True) as conn:
        mr = queue.require(mr_id)
        now_e = queue.ledger.now()
        now = iso(now_e)
        conn.execute(
            "UPDATE merge_requests SET state='failed', failure=?, gate_log=?, "
            "updated_at=? WHERE bead_id=?",
            (reason, log, now, mr_id),
        )
        record_event(conn, mr_id, "mq_failed", "refinery", now, {"reason": reason})
        queue.ledger.beads.set_status(
            mr_id,
            vocab.FAILED,
            actor="refinery",
            kind="failed",
            fields={"close_reason": reason[:200]},
        )
        return send_back(
            queue,
            conn,
            mr,
            reason=back_reason,
            failures=failures,
            retry_in=retry_in,
            failed_reason=failed_reason,
            mail_subject=mail_subject,
        )


def send_back(
    queue: MergeQueueStore,
    conn: Conn,
    mr: MergeRequest,
    *,
    reason: str,
    failures: int,
    retry_in: float | None,
    failed_reason: str,
    mail_subject: str,
) -> dict[str, Any]:
    """`failures` is the count this failure makes and `retry_in` the wait before the next
    try (None: give up), both decided by the caller inside this transaction. `reason` is
    why the source bead goes back; on giving up it closes with `failed_reason` and the
    mayor gets mail titled `mail_subject` (the caller's words)."""
    beads = queue.ledger.beads
    source = conn.execute("SELECT * FROM beads WHERE id=?", (mr["source_bead"],)).fetchone()
    if source is None or source["status"] != vocab.IN_REVIEW:
        return {"status": source["status"] if source else None}
    rows.check_decided_on(source, failures)
    meta = {**json.loads(source["metadata"]), "prefer_agent": mr["agent"]}
    now_e = queue.ledger.now()
    if retry_in is None:
        beads.set_status(
            source["id"],
            vocab.FAILED,
            actor="refinery",
            kind="failed",
            data={"reason": reason},
            fields={
                "failures": failures,
                "last_error": reason[:4000],
                "close_reason": failed_reason,
            },
        )
        if mail_subject:  # empty: the caller escalates instead (engine/escalations.py)
            queue.ledger.mail.deliver(
                sender="refinery", to=vocab.MAYOR, subject=mail_subject, body=reason[:4000]
            )
        return {"status": vocab.FAILED}
    delay = retry_in
    beads.set_status(
        source["id"],
        vocab.OPEN,
        actor="refinery",
        kind="requeued",
        data={"reason": reason[:500]},
        fields={
            "failures": failures,
            "last_error": reason[:4000],
            "not_before": now_e + delay,
            "metadata": json.dumps(meta),
        },
    )
    return {"status": vocab.OPEN}


def conflict(
    queue: MergeQueueStore,
    mr_id: str,
    *,
    files: list[str],
    base_commit: str,
    rework_title: str,
    rework_body: str,
) -> str:
    """assign_back: a rework bead for the same polecat (its words written by the caller),
    recording the conflicting files; returns the rework bead's id."""
    with queue.db.write(durable=True) as conn:
        mr = queue.require(mr_id)
        now = iso(queue.ledger.now())
        conn.execute(
            "UPDATE merge_requests SET state='conflict', failure=?, updated_at=? WHERE bead_id=?",
            ("conflict in " + ", ".join(files), now, mr_id),
        )
        record_event(conn, mr_id, "mq_conflict", "refinery", now, {"files": files})
        queue.ledger.beads.set_status(
            mr_id,
            vocab.FAILED,
            actor="refinery",
            kind="conflict",
            fields={"close_reason": "conflict"},
        )
        source = queue.ledger.beads.require(mr["source_bead"])
        original = source["metadata"].get("rework_of") or source["id"]
        rework = queue.ledger.beads.insert(
            title=rework_title,
            rig=mr["rig"],
            bead_type="task",
            priority=source["priority"],
            created_by="refinery",
            slung=True,
            body=rework_body,
            metadata={
                "rework_of": original,
                "base_commit": base_commit,
                "prefer_agent": mr["agent"],
                "conflict_files": files,
            },
        )
        # the original waits for its rework to land (it closes with it); a rework that is
        # itself reworked is superseded by its caller (engine/refinery/send_back.py)
        record_event(conn, original, "rework_created", "refinery", now, {"rework": rework})
        return rework
