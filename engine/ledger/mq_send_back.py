"""Work the merge queue sends back: gates that failed and branches that no longer merge.

The source bead returns to open with the failure attached (preferring the same polecat)
until the retry policy gives up; a conflict becomes a rework bead for that polecat.
Plain functions MergeQueueStore (``ledger.merge_queue``) delegates to.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.ledger.merge_queue import MergeQueueStore
    from engine.policy import RetryPolicy


def fail(
    queue: MergeQueueStore,
    mr_id: str,
    *,
    reason: str,
    log: str | None,
    retry: RetryPolicy,
) -> dict[str, Any]:
    """Gates failed: the bead goes back to open with the failure attached (preferring
    the same polecat), or fails once `retry` says its attempts are used up."""
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
            conn,
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
            reason=f"the gates failed: {reason}",
            retry=retry,
        )


def send_back(
    queue: MergeQueueStore,
    conn: sqlite3.Connection,
    mr: dict[str, Any],
    *,
    reason: str,
    retry: RetryPolicy,
) -> dict[str, Any]:
    beads = queue.ledger.beads
    source = conn.execute("SELECT * FROM beads WHERE id=?", (mr["source_bead"],)).fetchone()
    if source is None or source["status"] != vocab.IN_REVIEW:
        return {"status": source["status"] if source else None}
    failures = int(source["failures"]) + 1
    decision = retry.after(failures)
    meta = {**json.loads(source["metadata"]), "prefer_agent": mr["agent"]}
    now_e = queue.ledger.now()
    if decision.give_up:
        beads.set_status(
            conn,
            source["id"],
            vocab.FAILED,
            actor="refinery",
            kind="failed",
            data={"reason": reason},
            fields={
                "failures": failures,
                "last_error": reason[:4000],
                "close_reason": f"failed after {failures} attempts",
            },
        )
        queue.ledger.mail.deliver(
            conn,
            sender="refinery",
            to=vocab.MAYOR,
            subject=f"{source['id']} failed after {failures} attempts",
            body=reason[:4000],
        )
        return {"status": vocab.FAILED}
    delay = decision.delay
    beads.set_status(
        conn,
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
    queue: MergeQueueStore, mr_id: str, *, files: list[str], base_commit: str, branch: str
) -> str:
    """assign_back: a rework bead for the same polecat, naming the conflicting files."""
    with queue.db.write(durable=True) as conn:
        mr = queue.require(mr_id)
        now = iso(queue.ledger.now())
        conn.execute(
            "UPDATE merge_requests SET state='conflict', failure=?, updated_at=? WHERE bead_id=?",
            ("conflict in " + ", ".join(files), now, mr_id),
        )
        record_event(conn, mr_id, "mq_conflict", "refinery", now, {"files": files})
        queue.ledger.beads.set_status(
            conn,
            mr_id,
            vocab.FAILED,
            actor="refinery",
            kind="conflict",
            fields={"close_reason": "conflict"},
        )
        source = queue.ledger.beads.require(mr["source_bead"])
        original = source["metadata"].get("rework_of") or source["id"]
        rework = queue.ledger.beads.insert(
            conn,
            title=f"Rework {original}: merge conflict in {', '.join(files)[:120]}",
            rig=mr["rig"],
            bead_type="task",
            priority=source["priority"],
            created_by="refinery",
            slung=True,
            body=(
                f"Your branch {branch} for {original} no longer merges onto main.\n"
                f"Conflicting files: {', '.join(files)}\n\nYou start on a branch "
                f"holding your previous work. Merge main into it, resolve the "
                f"conflicts, commit, and run `gt done`.\n\n" + (source["body"] or "")
            ),
            metadata={
                "rework_of": original,
                "base_commit": base_commit,
                "prefer_agent": mr["agent"],
                "conflict_files": files,
            },
        )
        # the original waits for its rework to land (it closes with it)
        record_event(conn, original, "rework_created", "refinery", now, {"rework": rework})
        if source["id"] != original:
            queue.ledger.beads.set_status(
                conn,
                source["id"],
                vocab.CANCELLED,
                actor="refinery",
                kind="superseded",
                fields={"close_reason": f"superseded by {rework}"},
            )
        return rework
