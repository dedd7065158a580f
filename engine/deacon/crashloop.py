"""Crash-looping beads: too many failed attempts in a short window, quarantined.

A bead whose attempts keep failing fast (`crash_loop_failures` within
`crash_loop_window_seconds`, counted since it was last reopened) is taken out of the
queue instead of retried: it fails with a close reason that says so (and a
`quarantined` event), so it shows in Problems as failed, and `gt bead reopen` lifts it
(then `gt sling` puts it back in motion); each quarantine is escalated through the ladder
(engine/escalations.py, cause `quarantined:<bead>`). A bead failing slowly — the same number of
failures spread wider than the window — goes on being retried as the scheduler's own
rule (`[scheduler] max_attempts`) says. Only a bead waiting for its retry is quarantined:
one with an attempt running is looked at again once that attempt ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from engine import vocab
from engine.deacon.patrol import Finding, Patrol, PatrolContext
from engine.escalations import escalate
from engine.timeutil import parse_iso

if TYPE_CHECKING:
    from engine.deacon.settings import DeaconSettings
    from engine.ledger import Ledger

# `requeued` with a retry wait is what a failed attempt that will be retried records
# (AgentStore.fail_attempt); a rig's removal requeues without one and is not a failure.
FAILED_ATTEMPT = "requeued"
FRESH_START = ("reopened", "quarantined")
HISTORY = 200  # events of one bead read back: far more than any threshold


class CrashLoop(NamedTuple):
    bead_id: str
    failures: int  # within the window
    last_error: str


def failures_within(ledger: Ledger, bead_id: str, since: float) -> int:
    count = 0
    for e in ledger.state.recent(bead_id=bead_id, limit=HISTORY):
        if e["kind"] in FRESH_START:
            count = 0  # only failures since it was last given a fresh start count
        elif (
            e["kind"] == FAILED_ATTEMPT and "retry_in" in e["data"] and parse_iso(e["at"]) >= since
        ):
            count += 1
    return count


def crash_loops(ledger: Ledger, now: float, failures: int, window: float) -> list[CrashLoop]:
    out = []
    for bead in ledger.beads.list(status=vocab.OPEN, include_records=False):
        if not bead["slung"] or bead["failures"] < failures:
            continue  # the failures column alone rules most beads out, with no event read
        n = failures_within(ledger, bead["id"], now - window)
        if n >= failures:
            out.append(CrashLoop(bead["id"], n, bead["last_error"] or ""))
    return out


class CrashLoopPatrol(Patrol):
    name = "crash_loops"
    title = "crash-looping beads"

    def interval(self, settings: DeaconSettings) -> float:
        return settings.crash_loop_every_seconds

    def look(self, ctx: PatrolContext) -> list[CrashLoop]:
        s = ctx.settings
        return crash_loops(ctx.ledger, ctx.now, s.crash_loop_failures, s.crash_loop_window_seconds)

    def act(self, ctx: PatrolContext, worked: list[CrashLoop]) -> list[Finding]:
        ledger = ctx.ledger
        minutes = ctx.settings.crash_loop_window_seconds / 60
        found = []
        for c in worked:
            why = f"{c.failures} failed attempts within {minutes:g} min"
            with ledger.transaction(durable=True):
                bead = ledger.beads.get(c.bead_id)
                if bead is None or bead["status"] != vocab.OPEN:
                    continue  # an attempt started since we looked: judged when it ends
                ledger.beads.set_status(
                    c.bead_id,
                    vocab.FAILED,
                    actor="deacon",
                    kind="quarantined",
                    data={"reason": why, "failures": c.failures},
                    fields={
                        "close_reason": f"quarantined, crash-looping: {why}; last: {c.last_error}"
                    },
                )
                # a person must look at it: the ladder's route, one escalation per bead
                escalate(
                    ledger,
                    title=f"{c.bead_id} quarantined: crash-looping ({why})",
                    body=f"Last failure: {c.last_error}\nFix the cause, then "
                    f"`gt bead reopen {c.bead_id}` and `gt sling {c.bead_id}`.",
                    severity="high",
                    actor="deacon",
                    source=c.bead_id,
                    cause=f"quarantined:{c.bead_id}",
                    routes=ctx.config.escalation,
                )
            found.append(Finding(c.bead_id, f"{c.bead_id} quarantined: {why}"))
        return found


PATROL = CrashLoopPatrol()
