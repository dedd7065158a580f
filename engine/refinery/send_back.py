"""What the refinery decides when work goes back to its polecat: failed gates, a person's
(or the refinery's) rejection, a branch that no longer merges.

The ledger stores the outcome (engine/ledger/mq_send_back.py); the decision (retry or give
up, and how long to wait: engine/policy.py) and the words a polecat reads are made here.
Each decision is made inside the transaction that writes it, on the failure count it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.escalations import escalate

if TYPE_CHECKING:
    from engine.escalation_routes import EscalationSettings
    from engine.ledger import Ledger
    from engine.policy import RetryPolicy
    from engine.records import MergeRequest


def gates_failed(
    ledger: Ledger,
    mr_id: str,
    *,
    reason: str,
    log: str | None,
    retry: RetryPolicy,
    routes: EscalationSettings | None = None,
) -> dict[str, Any]:
    """The gates failed: the source bead goes back to open after the backoff `retry`
    decides (preferring the same polecat), or fails once its attempts are used up: then
    escalated (one open escalation per bead: gates that keep failing it are counted)."""
    with ledger.transaction(durable=True):
        failures = ledger.mq.source_failures(mr_id) + 1
        words = gave_up_words(ledger, mr_id, failures)
        out = ledger.mq.fail(
            mr_id,
            reason=reason,
            log=log,
            failures=failures,
            retry_in=retry.retry_in(failures),
            back_reason=f"the gates failed: {reason}",
            failed_reason=words["failed_reason"],
            mail_subject="",  # the escalation below tells the mayor
        )
        if out["status"] == vocab.FAILED:
            source = ledger.mq.require(mr_id)["source_bead"]
            escalate(
                ledger,
                title=words["mail_subject"] + ": the gates keep failing",
                body=f"Last gate failure: {reason[:2000]}\nReopen it with "
                f"`gt bead reopen {source}` once the cause is fixed.",
                severity="high",
                actor="refinery",
                source=source,
                cause=f"gates:{source}",
                routes=routes,
            )
        return out


def rejected(
    ledger: Ledger, mr_id: str, *, reason: str, actor: str, retry: RetryPolicy
) -> MergeRequest:
    """The request is refused; the rejection counts as one of the source bead's attempts."""
    with ledger.transaction(durable=True):
        failures = ledger.mq.source_failures(mr_id) + 1
        return ledger.mq.reject(
            mr_id,
            reason=reason,
            actor=actor,
            failures=failures,
            retry_in=retry.retry_in(failures),
            back_reason=f"rejected by {actor}: {reason}",
            **gave_up_words(ledger, mr_id, failures),
        )


def gave_up_words(ledger: Ledger, mr_id: str, failures: int) -> dict[str, str]:
    """What a source bead that is given up on closes with, and the mayor's mail about it
    (written even when not needed: one read, and the ledger decides nothing)."""
    source = ledger.mq.require(mr_id)["source_bead"]
    return {
        "failed_reason": f"failed after {failures} attempts",
        "mail_subject": f"{source} failed after {failures} attempts",
    }


def conflicted(
    ledger: Ledger, mr_id: str, *, files: list[str], base_commit: str, branch: str
) -> str:
    """assign_back: a rework bead for the same polecat, naming the conflicting files;
    returns its id. A rework that is itself reworked is superseded by the new one."""
    with ledger.transaction(durable=True):
        mr = ledger.mq.require(mr_id)
        source = ledger.beads.require(mr["source_bead"])
        original = source["metadata"].get("rework_of") or source["id"]
        title, body = rework_text(original, files, branch, source["body"])
        rework = ledger.mq.conflict(
            mr_id,
            files=files,
            base_commit=base_commit,
            rework_title=title,
            rework_body=body,
        )
        if source["id"] != original:
            ledger.beads.set_status(
                source["id"],
                vocab.CANCELLED,
                actor="refinery",
                kind="superseded",
                fields={"close_reason": f"superseded by {rework}"},
            )
        return rework


def rework_text(original: str, files: list[str], branch: str, body: str | None) -> tuple[str, str]:
    """The rework bead's title and body: what conflicts, and what to do about it."""
    listed = ", ".join(files)
    title = f"Rework {original}: merge conflict in {listed[:120]}"
    return title, (
        f"Your branch {branch} for {original} no longer merges onto main.\n"
        f"Conflicting files: {listed}\n\nYou start on a branch "
        f"holding your previous work. Merge main into it, resolve the "
        f"conflicts, commit, and run `gt done`.\n\n" + (body or "")
    )
