"""One reconcile: the whole desired state, every tick (level-triggered, event-woken).

1. apply the inbox; 2. check agents (dead sessions, idle sessions, idle too long);
3. dispatch hooked-but-not-started work, then assign ready beads while capacity allows;
4. check invariants. A missed wake-up is never fatal: the next tick sees the same state.

No single bad row stops the engine: an unexpected error on one bead parks that bead
(engine.scheduler.parking) and the reconcile goes on with the rest. A bead that can never
be dispatched as it is (its own fault: an invalid id, a file it names that is missing) is
failed at once without counting towards the town-wide circuit breaker.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NamedTuple

from engine import vocab
from engine.errors import Conflict, GtError
from engine.polecats.dispatcher import Assignment, DispatchError, NotYet
from engine.polecats.witness import Witness
from engine.policy import RetryPolicy
from engine.scheduler.breaker import BEAD_FAULT, Breaker
from engine.scheduler.names import next_name
from engine.scheduler.parking import Parking, describe
from engine.scheduler.placement import choose_rig
from engine.scheduler.verdicts import act_on
from engine.timeutil import iso

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.polecats.dispatcher import Dispatcher

log = logging.getLogger("gastown.scheduler")

PAGE = 256


class ScheduleResult(NamedTuple):
    assignments: list[Assignment]
    reasons: dict[str, str]
    paused: str | None


class ReconcileReport(NamedTuple):
    assigned: list[Assignment]
    started: list[Assignment]
    failed: list[tuple[str, str]]
    recovered: list[str]
    violations: list[str]


class Scheduler:
    def __init__(self, ledger: Ledger, config: TownConfig) -> None:
        self.ledger = ledger
        self.config = config
        self.settings = config.scheduler
        self.breaker = Breaker(ledger, config.scheduler)
        self.parking = Parking(ledger)
        self._reported: set[str] = set()

    # ---- assignment ----------------------------------------------------------------------

    def schedule(self, *, only: str | None = None) -> ScheduleResult:
        """Hook ready, slung beads to polecats, by priority then age, within capacity."""
        paused = self.breaker.blocks_dispatch()
        if paused:
            return ScheduleResult([], {}, paused)
        probe_only = self.breaker.state()["state"] == "half_open"
        ledger = self.ledger
        agents = ledger.agents
        out: list[Assignment] = []
        reasons: dict[str, str] = {}
        parked = self.parking.all()
        faults: list[tuple[str, str]] = []  # (bead, why): the bead's own fault
        trouble: list[tuple[str, BaseException]] = []  # (bead, error): to be parked
        with ledger.db.write(durable=True) as conn:
            total, per_rig = agents.busy_counts(conn)
            town_cap = self.settings.max_polecats
            if total >= town_cap:
                return ScheduleResult(
                    [], {}, f"the town is at capacity ({total}/{town_cap} polecats working)"
                )
            rigs = ledger.rigs.list()
            rig_names = {r["name"] for r in rigs}
            cap = self.config.rig_capacity
            live = agents.live_names(conn)
            now = ledger.now()
            after: tuple[Any, ...] | None = None
            while total < town_cap:
                page = ledger.beads.dispatch_candidates(conn, after=after, limit=PAGE, only=only)
                for row in page:
                    bid = row["id"]
                    if bid in parked:
                        reasons[bid] = f"parked after an error: {parked[bid].get('reason')}"
                        continue
                    fault = bead_fault(bid)
                    if fault:
                        faults.append((bid, fault))
                        reasons[bid] = f"it cannot be dispatched: {fault}"
                        continue
                    if row["not_before"] > now:
                        reasons[bid] = f"backing off after a failure until {iso(row['not_before'])}"
                        continue
                    rig = row["rig"]
                    if rig is None:
                        import json

                        rig, why = choose_rig(json.loads(row["labels"]), rigs, per_rig, cap)
                        if rig is None:
                            reasons[bid] = why
                            continue
                    elif rig not in rig_names:
                        reasons[bid] = f"its rig {rig!r} no longer exists"
                        continue
                    elif per_rig.get(rig, 0) >= cap(rig):
                        reasons[bid] = (
                            f"rig {rig} is at capacity ({per_rig.get(rig, 0)}/"
                            f"{cap(rig)} polecats working)"
                        )
                        continue
                    try:
                        # all or nothing per bead: one bad row must not undo the others
                        with ledger.db.savepoint():
                            agent = self._preferred(row, rig) or agents.idle_in_rig(conn, rig)
                            if agent is None:
                                self._make_room(conn, rig, len(live))
                                live = agents.live_names(conn)
                                name = next_name(live)
                                agent = agents.allocate(
                                    conn, rig, name, self.config.runtime_for(rig)
                                )
                            # resolved afresh: a reused idle polecat runs what town.toml
                            # names now, not what it named when the polecat was made
                            runtime = self.config.runtime_for(rig)
                            attempt = agents.assign(conn, agent, bid, rig=rig, runtime=runtime)
                    except Exception as exc:
                        trouble.append((bid, exc))
                        reasons[bid] = f"parked after an error: {describe(exc)}"
                        live = agents.live_names(conn)
                        continue
                    live.add(agent["name"])
                    out.append(
                        Assignment(
                            agent["id"],
                            agent["name"],
                            rig,
                            bid,
                            attempt,
                            runtime,
                        )
                    )
                    total += 1
                    per_rig[rig] = per_rig.get(rig, 0) + 1
                    if total >= town_cap or probe_only:
                        break
                if len(page) < PAGE or only or probe_only:
                    break
                last = page[-1]
                after = (last["priority"], last["created_at"], last["seq"])
        for bid, why in faults:
            self.reject(bid, why)
        for bid, error in trouble:
            self.park(bid, error, stage="assigning it")
        if out:
            log.info("assigned %s", ", ".join(f"{a.bead_id}→{a.agent_name}" for a in out))
        return ScheduleResult(out, reasons, None)

    def park(self, bead_id: str, exc: BaseException | str, *, stage: str) -> None:
        """Park one bead after an unexpected error; never raises (the reconcile goes on)."""
        reason = exc if isinstance(exc, str) else describe(exc)
        try:
            self.parking.park(bead_id, reason, stage=stage)
        except Exception:
            log.exception("could not park %s after: %s", bead_id, reason)

    def reject(self, bead_id: str, why: str) -> None:
        """A bead that can never be dispatched as it is: failed at once, with the reason,
        and an escalation; not an attempt, and not counted towards the breaker."""
        ledger = self.ledger
        try:
            with ledger.db.write(durable=True) as conn:
                bead = ledger.beads.require(bead_id)
                if bead["status"] != vocab.OPEN:
                    return
                ledger.beads.set_status(
                    conn,
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
                self._escalate_failed(bead_id, why, bead_fault=True)
        except Exception as exc:
            self.park(bead_id, exc, stage="failing it")
            return
        log.warning("%s cannot be dispatched (its own fault, not counted): %s", bead_id, why)

    def _preferred(self, row: Any, rig: str) -> dict[str, Any] | None:
        """Work sent back (failed gates, a conflict) goes to the same polecat if it is free."""
        if row["metadata"] in (None, "{}"):
            return None
        import json

        wanted = json.loads(row["metadata"]).get("prefer_agent")
        agent = self.ledger.agents.get(wanted) if wanted else None
        if (
            agent
            and agent["rig"] == rig
            and agent["status"] == vocab.AGENT_IDLE
            and not agent["hook"]
        ):
            return agent
        return None

    def _make_room(self, conn: Any, rig: str, live_count: int) -> None:
        """Keep live polecats within the town's capacity: retire an idle one elsewhere."""
        if live_count < self.settings.max_polecats:
            return
        other = self.ledger.agents.longest_idle_outside(conn, rig)
        if other:
            self.ledger.agents.retire(conn, other, reason="room for a polecat in " + rig)

    def sling(self, bead_id: str, *, actor: str | None = None) -> dict[str, Any]:
        """Put one bead in motion; assign it inline when it can start now ("Toast is on it!")."""
        ledger = self.ledger
        with ledger.db.write(durable=True) as conn:
            bead = ledger.beads.require(bead_id)
            if bead["type"] not in vocab.WORK_TYPES:
                raise Conflict(
                    f"{bead_id} is a {bead['type']}, not work a polecat can take "
                    f"(work types: {', '.join(vocab.WORK_TYPES)})"
                )
            if bead["status"] in (vocab.HOOKED, vocab.IN_PROGRESS):
                agent = ledger.agents.get(bead["assignee"] or "")
                raise Conflict(
                    f"{bead_id} is already {bead['status']} by "
                    f"{agent['name'] if agent else bead['assignee']}"
                )
            if bead["status"] != vocab.OPEN:
                raise Conflict(
                    f"{bead_id} is {bead['status']}; only an open bead can be slung"
                    + (" (reopen it first)" if bead["status"] in vocab.FINAL_STATUSES else "")
                )
            staged = ledger.beads.staged_convoy_of(conn, bead_id)
            if staged:
                raise Conflict(
                    f"{bead_id} belongs to staged convoy {staged}; "
                    f"launch it with `gt convoy launch {staged}`"
                )
            ledger.beads.set_slung(conn, bead_id, actor=actor)
            return self.place(bead_id)

    def place(self, bead_id: str) -> dict[str, Any]:
        """Try to assign one slung bead now: who took it, or why it waits."""
        result = self.schedule(only=bead_id)
        if result.assignments:
            a = result.assignments[0]
            return {
                "id": bead_id,
                "agent": a.agent_name,
                "agent_id": a.agent_id,
                "rig": a.rig,
                "attempt": a.attempt,
                "queued": False,
                "reason": None,
            }
        reason = result.paused or result.reasons.get(bead_id) or self.why_waiting(bead_id)
        return {"id": bead_id, "agent": None, "queued": True, "reason": reason}

    def why_waiting(self, bead_id: str) -> str:
        bead = self.ledger.beads.require(bead_id)
        if bead["blocked"]:
            blockers = self.ledger.graph.blockers(bead_id)
            return "blocked by " + ", ".join(f"{b['id']} ({b['status']})" for b in blockers)
        if bead["ephemeral"]:
            return "it is ephemeral"
        if bead["defer_until"]:
            return f"deferred until {bead['defer_until']}"
        if bead["status"] != vocab.OPEN:
            return f"it is {bead['status']}"
        return "waiting for the scheduler"

    # ---- the whole reconcile -------------------------------------------------------------

    def reconcile(
        self,
        dispatcher: Dispatcher,
        inbox_handlers: dict[str, Callable[[dict[str, Any]], None]] | None = None,
    ) -> ReconcileReport:
        try:
            self.parking.lift_changed()
        except Exception:
            log.exception("could not review the parked beads; trying again next tick")
        self.apply_inbox(inbox_handlers or {})
        alive = dispatcher.alive()
        recovered = self.check_agents(dispatcher, alive)
        try:
            witness = Witness(self.ledger, self.config.witness, dispatcher)
            for verdict in witness.patrol(alive):
                act_on(self, verdict, dispatcher)
        except Exception:  # the patrol is per tick; dispatch must go on without it
            log.exception("the witness patrol failed; the reconcile goes on")
        pending = []
        parked = self.parking.all()
        for a in self.pending_dispatches():
            if a.bead_id in parked:
                continue
            agent = self.ledger.agents.get(a.agent_id)
            if agent and agent["status"] == vocab.AGENT_ASSIGNED and alive and a.agent_id in alive:
                try:
                    self.adopt(a, dispatcher)  # started before a crash: adopt, never start twice
                except Exception as exc:
                    self.park(a.bead_id, exc, stage="adopting its session")
            else:
                pending.append(a)
        result = self.schedule()
        started, failed = [], []
        for a in [*pending, *result.assignments]:
            try:
                err = self.dispatch(a, dispatcher)
            except Exception as exc:
                err = describe(exc)
                self.park(a.bead_id, err, stage="dispatching it")
                try:
                    dispatcher.stop(a.agent_id)
                except Exception:
                    log.exception("could not stop %s after a failed dispatch", a.agent_name)
            if err is None:
                started.append(a)
            else:
                failed.append((a.bead_id, err))
        violations = self.check_invariants()
        return ReconcileReport(result.assignments, started, failed, recovered, violations)

    def apply_inbox(self, handlers: dict[str, Callable[[dict[str, Any]], None]]) -> None:
        inbox = self.ledger.inbox
        for item in inbox.pending():
            handler = handlers.get(item["kind"])
            try:
                if handler is None:
                    raise GtError(f"no handler for inbox request {item['kind']!r}")
                handler(item["payload"])
            except NotYet:
                continue  # e.g. a nudge for a busy agent: stays queued, costs no try
            except Exception as exc:  # a bad request must not stop the engine
                if inbox.failed(item["id"], str(exc)):
                    log.warning("parked inbox request %s (%s): %s", item["id"], item["kind"], exc)
            else:
                inbox.done(item["id"])

    def pending_dispatches(self) -> list[Assignment]:
        """Hooked work whose session has not started (inline slings, a crash mid-dispatch)."""
        return [
            Assignment(
                a["id"],
                a["name"],
                a["rig"],
                a["hook"],
                a["attempt"],
                a["runtime"] or self.config.runtime_for(a["rig"]),
            )
            for a in self.ledger.agents.list()
            if a["status"] in (vocab.AGENT_ASSIGNED, vocab.AGENT_HANDOFF) and a["hook"]
        ]

    def dispatch(self, a: Assignment, dispatcher: Dispatcher) -> str | None:
        try:
            started = dispatcher.start(a)
        except DispatchError as exc:
            reason = str(exc) or exc.__class__.__name__
            own = exc.fault == "bead"
            log.warning(
                "dispatch of %s to %s failed%s: %s",
                a.bead_id,
                a.agent_name,
                " (the bead's own fault)" if own else "",
                reason,
            )
            self.fail(
                a.bead_id,
                a.attempt,
                reason=reason,
                kind=BEAD_FAULT if own else "dispatch_failed",
                bead_fault=own,
            )
            dispatcher.stop(a.agent_id)
            return reason
        try:
            self.ledger.agents.mark_started(
                a.agent_id,
                a.bead_id,
                a.attempt,
                session=started.session,
                worktree=started.worktree,
                branch=started.branch,
            )
        except (Conflict, GtError) as exc:
            # The bead moved on while we were starting (cancelled, closed): undo the start.
            log.info(
                "started %s for %s but it moved on (%s); stopping", a.agent_name, a.bead_id, exc
            )
            dispatcher.stop(a.agent_id)
            return str(exc)
        self.breaker.record_success()
        log.info("%s is on %s (attempt %d)", a.agent_name, a.bead_id, a.attempt)
        return None

    def fail(
        self, bead_id: str, attempt: int, *, reason: str, kind: str, bead_fault: bool = False
    ) -> dict[str, Any] | None:
        """An attempt failed. A town fault backs off and counts towards the breaker; a
        bead's own fault fails the bead at once and does not count."""
        try:
            out = self.ledger.agents.fail_attempt(
                bead_id,
                attempt,
                reason=reason,
                kind=kind,
                retry=RetryPolicy.of(self.settings, bead_fault=bead_fault),
            )
        except Conflict as exc:
            log.info("ignored a stale failure report: %s", exc)
            return None
        log.warning("%s attempt %d failed (%s): %s", bead_id, attempt, kind, reason)
        if not bead_fault and self.breaker.record_failure(bead_id, reason):
            log.error("circuit breaker tripped, dispatch paused: %s", self.breaker.summary())
        if out["status"] == vocab.FAILED:
            self._escalate_failed(bead_id, reason, failures=out["failures"], bead_fault=bead_fault)
        return out

    def _escalate_failed(
        self, bead_id: str, reason: str, *, failures: int = 1, bead_fault: bool = False
    ) -> None:
        if bead_fault:
            title = f"{bead_id} cannot be dispatched: {reason}"
        else:
            title = f"{bead_id} failed after {failures} attempts"
        self.ledger.mail.escalate(
            title=title,
            body=f"Last failure: {reason}\nReopen it with `gt bead reopen {bead_id}` once "
            f"the cause is fixed.",
            severity="high",
            actor="scheduler",
            source=bead_id,
        )

    def adopt(self, a: Assignment, dispatcher: Dispatcher) -> None:
        seen = dispatcher.describe(a)
        try:
            self.ledger.agents.mark_started(
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

    def check_agents(self, dispatcher: Dispatcher, alive: set[str] | None) -> list[str]:
        """Dead sessions of working agents are recovered; idle agents hold no session."""
        recovered = []
        now = self.ledger.now()
        live_ids = set()
        parked = self.parking.all()
        for agent in self.ledger.agents.list():
            live_ids.add(agent["id"])
            if agent["hook"] and agent["hook"] in parked:
                continue  # a parked bead waits for a person, and so does its agent
            try:
                if self._check_agent(agent, dispatcher, alive, now):
                    recovered.append(agent["hook"])
            except Exception as exc:
                if agent["hook"]:
                    self.park(agent["hook"], exc, stage=f"checking its agent {agent['name']}")
                else:
                    log.exception("checking agent %s failed; the reconcile goes on", agent["id"])
        if alive:
            for orphan in alive - live_ids:
                dispatcher.stop(orphan)
        return recovered

    def _check_agent(
        self, agent: dict[str, Any], dispatcher: Dispatcher, alive: set[str] | None, now: float
    ) -> bool:
        """One agent's check; True when its dead session's bead was recovered."""
        status, hook = agent["status"], agent["hook"]
        if (
            hook
            and status in (vocab.AGENT_WORKING, vocab.AGENT_STALLED, vocab.AGENT_GUPP)
            and alive is not None
            and agent["id"] not in alive
        ):
            with self.ledger.db.write() as conn:
                self.ledger.agents.set_status(
                    conn, agent["id"], vocab.AGENT_ZOMBIE, reason="session gone"
                )
            reason = "the agent's session ended before it finished"
            words = last_words(dispatcher, agent)
            if words:
                reason += f"; its last output: {words}"
            out = self.fail(hook, agent["attempt"], reason=reason, kind="agent_died")
            return out is not None
        if not hook and status == vocab.AGENT_IDLE:
            if alive and agent["id"] in alive:
                dispatcher.stop(agent["id"])
            idle_for = now - (agent["idle_since"] or now)
            if idle_for >= self.settings.idle_retire_seconds:
                with self.ledger.db.write() as conn:
                    self.ledger.agents.retire(conn, agent["id"], reason="idle")
                dispatcher.on_retire(agent)
        elif not hook and status == vocab.AGENT_ZOMBIE:
            with self.ledger.db.write() as conn:
                self.ledger.agents.set_status(
                    conn, agent["id"], vocab.AGENT_IDLE, reason="recovered"
                )
        return False

    def check_invariants(self) -> list[str]:
        found = self.ledger.agents.invariant_violations()
        fresh = [v for v in found if v not in self._reported]
        if fresh:
            from engine.ledger.graph import record_event

            with self.ledger.db.write() as conn:
                for v in fresh:
                    log.error("invariant violated: %s", v)
                    record_event(
                        conn,
                        None,
                        "invariant_violated",
                        "scheduler",
                        iso(self.ledger.now()),
                        {"violation": v},
                    )
        self._reported = set(found)
        return found


# How much of a dead session's log becomes the failure's reason.
LAST_WORDS_LINES = 3
LAST_WORDS_CHARS = 300


def last_words(dispatcher: Dispatcher, agent: dict[str, Any]) -> str | None:
    """The last lines a dead session printed (its log file), as one line: the reason an
    attempt failed is usually there, not in "the session ended"."""
    from engine.polecats import seance
    from engine.safetext import clip, plain

    # Only dispatchers with session logs (the tmux fleet) have one to read.
    path = dispatcher.session_log(agent)
    if not path:
        return None
    try:
        lines = seance.tail(path, 40)
    except OSError:
        return None
    # A pane log is the terminal's raw bytes: escape sequences and carriage returns go.
    said = [t for t in (plain(ln).strip() for ln in lines) if t and not t.startswith("--- ")]
    if not said:
        return None
    return clip(" | ".join(said[-LAST_WORDS_LINES:]), LAST_WORDS_CHARS)


def bead_fault(bead_id: str) -> str | None:
    """Why this bead can never be dispatched as it is, or None. The one id rule
    (engine.ids): an id that is not valid can never become a branch or a file name."""
    from engine.errors import UsageError
    from engine.ids import check_bead_id

    try:
        check_bead_id(bead_id)
    except UsageError as exc:
        return exc.message
    return None
