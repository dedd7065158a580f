"""Dispatch and failure handling: starting the assigned sessions, and what happens when
an attempt fails (fail: back off or give up), a bead can never start (reject), an
unexpected error hits one bead (park), or a bead is given up on (escalate).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.errors import Conflict, GtError, LedgerError
from engine.escalations import escalate
from engine.polecats.dispatcher import DispatchError
from engine.policy import RetryPolicy
from engine.scheduler.breaker import BEAD_FAULT
from engine.scheduler.parking import describe

if TYPE_CHECKING:
    from engine.polecats.dispatcher import Assignment, Dispatcher, Launch, Started
    from engine.scheduler.reconciler import Scheduler

log = logging.getLogger("gastown.scheduler")


def dispatch(scheduler: Scheduler, a: Assignment, dispatcher: Dispatcher) -> str | None:
    """Start one assignment's session, all on this thread; the reason it did not start,
    or None. (The engine splits the same steps across its two threads.)"""
    plan = prepare(scheduler, a, dispatcher)
    if isinstance(plan, str):
        return plan
    return record(scheduler, a, dispatcher, launch(dispatcher, plan))


def prepare(scheduler: Scheduler, a: Assignment, dispatcher: Dispatcher) -> Launch | str:
    """The ledger side of a start; the reason it cannot start (already recorded), or the
    launch to hand to the adapters' thread."""
    try:
        return dispatcher.prepare(a)
    except DispatchError as exc:
        return record(scheduler, a, dispatcher, exc) or "not prepared"


def launch(dispatcher: Dispatcher, plan: Launch) -> Started | BaseException:
    """The git and tmux side (any thread but the ledger's): what came of it, never raised,
    so one broken start cannot lose the others' outcomes."""
    try:
        return dispatcher.launch(plan)
    except Exception as exc:
        return exc


def record(
    scheduler: Scheduler,
    a: Assignment,
    dispatcher: Dispatcher,
    outcome: Started | BaseException,
) -> str | None:
    """Back on the ledger thread: record how a start went; the reason it did not start,
    or None. An error no dispatcher should raise is re-raised (the caller parks the bead)."""
    if isinstance(outcome, BaseException) and not isinstance(outcome, DispatchError):
        raise outcome
    if isinstance(outcome, DispatchError):
        exc = outcome
        reason = str(exc) or exc.__class__.__name__
        own = exc.fault == "bead"
        log.warning(
            "dispatch of %s to %s failed%s: %s",
            a.bead_id,
            a.agent_name,
            " (the bead's own fault)" if own else "",
            reason,
        )
        scheduler.fail(
            a.bead_id,
            a.attempt,
            reason=reason,
            kind=BEAD_FAULT if own else "dispatch_failed",
            bead_fault=own,
        )
        dispatcher.stop(a.agent_id)
        return reason
    started = outcome
    try:
        scheduler.ledger.agents.mark_started(
            a.agent_id,
            a.bead_id,
            a.attempt,
            session=started.session,
            worktree=started.worktree,
            branch=started.branch,
        )
    except LedgerError:
        # The ledger did not answer (its server restarted, the disk said no): nothing is
        # known to have moved on. The session is kept; the next reconcile finds it alive,
        # still assigned, and adopts it, instead of stopping it and starting it again.
        raise
    except (Conflict, GtError) as exc:
        # The bead moved on while we were starting (cancelled, closed): undo the start.
        log.info("started %s for %s but it moved on (%s); stopping", a.agent_name, a.bead_id, exc)
        dispatcher.stop(a.agent_id)
        return str(exc)
    scheduler.breaker.record_success()
    log.info("%s is on %s (attempt %d)", a.agent_name, a.bead_id, a.attempt)
    return None


def adopt(scheduler: Scheduler, a: Assignment, dispatcher: Dispatcher) -> bool:
    """A session started before a crash: record it as started, never start it twice.
    False when the live session is not this bead's: the agent's previous session, still
    finishing when the engine died between assigning new work and launching it (its
    worktree is still on the old bead's branch); that one is launched, which ends it."""
    seen = dispatcher.describe(a)
    if seen.branch is not None and not seen.branch.endswith("/" + a.bead_id):
        log.info(
            "the live session of %s is on %s, not %s: starting it afresh",
            a.agent_name,
            seen.branch,
            a.bead_id,
        )
        return False
    try:
        scheduler.ledger.agents.mark_started(
            a.agent_id,
            a.bead_id,
            a.attempt,
            session=seen.session,
            worktree=seen.worktree,
            branch=seen.branch,
        )
        log.info("adopted the live session of %s on %s", a.agent_name, a.bead_id)
    except GtError as exc:
        log.info("could not adopt %s: %s", a.agent_name, exc)
    return True


def fail(
    scheduler: Scheduler,
    bead_id: str,
    attempt: int,
    *,
    reason: str,
    kind: str,
    bead_fault: bool = False,
) -> dict[str, Any] | None:
    """An attempt failed. A town fault backs off and counts towards the breaker; a
    bead's own fault fails the bead at once and does not count."""
    try:
        retry = RetryPolicy.of(scheduler.settings, bead_fault=bead_fault)
        with scheduler.ledger.transaction(durable=True):  # decided on the count it writes
            failures = scheduler.ledger.beads.failure_count(bead_id) + 1
            out = scheduler.ledger.agents.fail_attempt(
                bead_id,
                attempt,
                reason=reason,
                kind=kind,
                failures=failures,
                retry_in=retry.retry_in(failures),
                failed_reason=f"{failures} failed attempts; last: {reason}",
                close_reason=f"failed after {failures} attempts: {reason}",
            )
    except Conflict as exc:
        log.info("ignored a stale failure report: %s", exc)
        return None
    log.warning("%s attempt %d failed (%s): %s", bead_id, attempt, kind, reason)
    breaker = scheduler.breaker
    if not bead_fault and breaker.record_failure(bead_id, reason):
        log.error("circuit breaker tripped, dispatch paused: %s", breaker.summary())
    if out["status"] == vocab.FAILED:
        escalate_failed(scheduler, bead_id, reason, failures=out["failures"], bead_fault=bead_fault)
    return out


def reject(scheduler: Scheduler, bead_id: str, why: str) -> None:
    """A bead that can never be dispatched as it is: failed at once, with the reason,
    and an escalation; not an attempt, and not counted towards the breaker."""
    ledger = scheduler.ledger
    try:
        with ledger.transaction(durable=True):
            bead = ledger.beads.require(bead_id)
            if bead["status"] != vocab.OPEN:
                return
            ledger.beads.set_status(
                bead_id,
                vocab.FAILED,
                actor="scheduler",
                kind=BEAD_FAULT,
                data={"reason": why},
                fields={
                    "failures": int(bead["failures"]) + 1,
                    "last_error": why,
                    "close_reason": f"cannot be dispatched: {why}",
                },
            )
            escalate_failed(scheduler, bead_id, why, bead_fault=True)
    except Exception as exc:
        scheduler.park(bead_id, exc, stage="failing it")
        return
    log.warning("%s cannot be dispatched (its own fault, not counted): %s", bead_id, why)


def park(scheduler: Scheduler, bead_id: str, exc: BaseException | str, *, stage: str) -> None:
    """Park one bead after an unexpected error; never raises (the reconcile goes on)."""
    reason = exc if isinstance(exc, str) else describe(exc)
    try:
        scheduler.parking.park(bead_id, reason, stage=stage)
    except Exception:
        log.exception("could not park %s after: %s", bead_id, reason)


def escalate_failed(
    scheduler: Scheduler,
    bead_id: str,
    reason: str,
    *,
    failures: int = 1,
    bead_fault: bool = False,
) -> None:
    """Tell the mayor a bead was given up on, and how to try it again."""
    if bead_fault:
        title = f"{bead_id} cannot be dispatched: {reason}"
    else:
        title = f"{bead_id} failed after {failures} attempts"
    escalate(
        scheduler.ledger,
        title=title,
        body=f"Last failure: {reason}\nReopen it with `gt bead reopen {bead_id}` once "
        f"the cause is fixed.",
        severity="high",
        actor="scheduler",
        source=bead_id,
        cause=f"failed:{bead_id}",  # failing again before it is closed: counted
        routes=scheduler.config.escalation,
    )
