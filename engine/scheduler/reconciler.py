"""One reconcile: the whole desired state, every tick (level-triggered, event-woken).

1. apply the inbox; 2. check agents (dead sessions, idle sessions, idle too long);
3. dispatch hooked-but-not-started work, then assign ready beads while capacity allows;
4. check invariants. A missed wake-up is never fatal: the next tick sees the same state.

No single bad row stops the engine: an unexpected error on one bead parks that bead
(engine.scheduler.parking) and the reconcile goes on with the rest. A bead that can never
be dispatched as it is (its own fault: an invalid id, a file it names that is missing) is
failed at once without counting towards the town-wide circuit breaker.

The steps live in their own rooms, and `Scheduler` keeps one method for each:
assignment (engine.scheduler.assignment), dispatch and failure handling
(engine.scheduler.dispatching), agent checks (engine.scheduler.agent_checks), the
witness's verdicts (engine.scheduler.verdicts). The invariants check stays here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NamedTuple

from engine import vocab
from engine.errors import GtError, LedgerError
from engine.escalation_ladder import raise_stale
from engine.polecats.dispatcher import Assignment, NotYet
from engine.polecats.witness import Witness
from engine.scheduler import agent_checks, assignment, dispatching, host_failover
from engine.scheduler.assignment import ScheduleResult
from engine.scheduler.breaker import Breaker
from engine.scheduler.parking import Parking, describe
from engine.scheduler.runtime_pauses import RuntimePauses
from engine.scheduler.verdicts import act_on
from engine.usage.collect import UsageCollector

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.config import TownConfig
    from engine.host_membership import HostMembership
    from engine.ledger import Ledger
    from engine.polecats.dispatcher import Dispatcher, Launch, Started

log = logging.getLogger("gastown.scheduler")

__all__ = ["ReconcileReport", "ScheduleResult", "Scheduler"]


class ReconcileReport(NamedTuple):
    assigned: list[Assignment]
    started: list[Assignment]
    failed: list[tuple[str, str]]
    recovered: list[str]
    violations: list[str]


class ReconcilePlan(NamedTuple):
    """A reconcile's first step, handed to the launches and then to `record`."""

    assigned: list[Assignment]
    launches: list[Launch]
    failed: list[tuple[str, str]]  # (bead id, why) for starts refused before launching
    recovered: list[str]


def launch_all(dispatcher: Dispatcher, launches: list[Launch]) -> list[Started | BaseException]:
    """Every launch's outcome, in order: git and tmux only, never the ledger."""
    return [dispatching.launch(dispatcher, launch) for launch in launches]


class Scheduler:
    def __init__(self, ledger: Ledger, config: TownConfig, host: str | None = None) -> None:
        self.ledger = ledger
        self.config = config
        # one host of several sharing the ledger: it runs (and looks at) its own agents
        self.host = host
        self.host_epoch = 0  # set when its engine joins (engine/host_membership.py)
        self.host_seen: dict[str, float] = {}  # engine/scheduler/placement.py HostPlacement
        self.membership: HostMembership | None = None  # set by a host's engine
        self._standing_by = False
        self.settings = config.scheduler
        self.breaker = Breaker(ledger, config.scheduler, config.escalation)
        self.parking = Parking(ledger, config.escalation)
        self.pauses = RuntimePauses(ledger, config.escalation)
        self._reported: set[str] = set()
        self.usage = UsageCollector()  # the agents' token usage, read from their CLIs

    # ---- assignment (engine.scheduler.assignment) ----------------------------------------

    def schedule(self, *, only: str | None = None) -> ScheduleResult:
        """Hook ready, slung beads to polecats, by priority then age, within capacity."""
        return assignment.schedule(self, only=only)

    def sling(self, bead_id: str, *, actor: str | None = None) -> dict[str, Any]:
        """Put one bead in motion; assign it inline when it can start now."""
        return assignment.sling(self, bead_id, actor=actor)

    def place(self, bead_id: str) -> dict[str, Any]:
        """Try to assign one slung bead now: who took it, or why it waits."""
        return assignment.place(self, bead_id)

    def why_waiting(self, bead_id: str) -> str:
        return assignment.why_waiting(self, bead_id)

    # ---- dispatch and failures (engine.scheduler.dispatching) ----------------------------

    def dispatch(self, a: Assignment, dispatcher: Dispatcher) -> str | None:
        return dispatching.dispatch(self, a, dispatcher)

    def adopt(self, a: Assignment, dispatcher: Dispatcher) -> bool:
        return dispatching.adopt(self, a, dispatcher)

    def fail(
        self, bead_id: str, attempt: int, *, reason: str, kind: str, bead_fault: bool = False
    ) -> dict[str, Any] | None:
        """An attempt failed: back off and count towards the breaker, or (the bead's own
        fault) fail the bead at once."""
        return dispatching.fail(
            self, bead_id, attempt, reason=reason, kind=kind, bead_fault=bead_fault
        )

    def reject(self, bead_id: str, why: str) -> None:
        """A bead that can never be dispatched as it is: failed at once, not counted."""
        dispatching.reject(self, bead_id, why)

    def park(self, bead_id: str, exc: BaseException | str, *, stage: str) -> None:
        """Park one bead after an unexpected error; never raises (the reconcile goes on)."""
        dispatching.park(self, bead_id, exc, stage=stage)

    # ---- agent checks (engine.scheduler.agent_checks) ------------------------------------

    def check_agents(self, dispatcher: Dispatcher, alive: set[str] | None) -> list[str]:
        """Dead sessions of working agents are recovered; idle agents hold no session."""
        return agent_checks.check_agents(self, dispatcher, alive)

    # ---- the whole reconcile -------------------------------------------------------------

    def reconcile(
        self,
        dispatcher: Dispatcher,
        inbox_handlers: dict[str, Callable[[dict[str, Any]], None]] | None = None,
    ) -> ReconcileReport:
        """The whole reconcile on this thread. The engine runs the same three steps with
        the launches on its adapters' thread, so the ledger is free while git and tmux
        work: plan (ledger) -> launch (git, tmux) -> record (ledger)."""
        plan = self.plan(dispatcher, inbox_handlers, alive=dispatcher.alive())
        return self.record(dispatcher, plan, launch_all(dispatcher, plan.launches))

    def plan(
        self,
        dispatcher: Dispatcher,
        inbox_handlers: dict[str, Callable[[dict[str, Any]], None]] | None = None,
        *,
        alive: set[str] | None,
    ) -> ReconcilePlan:
        """Everything up to the launches: the inbox, agent checks, the witness's verdicts,
        adopting sessions that outlived a crash, assignment, and each start's ledger side.
        `alive` is the fleet's one look, taken by the caller (a tmux call)."""
        if self.stands_by():
            return ReconcilePlan([], [], [], [])
        try:
            self.parking.lift_changed()
        except Exception:
            log.exception("could not review the parked beads; trying again next tick")
        self.apply_inbox(inbox_handlers or {})
        recovered = self.check_agents(dispatcher, alive)
        try:
            witness = Witness(self.ledger, self.config.witness, dispatcher, self.host)
            for verdict in witness.patrol(alive):
                act_on(self, verdict, dispatcher)
        except Exception:  # the patrol is per tick; dispatch must go on without it
            log.exception("the witness patrol failed; the reconcile goes on")
        try:  # unacknowledged escalations one level up (engine/escalation_ladder.py)
            raise_stale(self.ledger, self.config.escalation)
        except Exception:
            log.exception("the escalation ladder failed; the reconcile goes on")
        try:  # before assignment: a budget spent by now stops this tick's dispatch
            self.usage.collect(self.ledger, dispatcher, self.host)
        except Exception:
            log.exception("collecting token usage failed; the reconcile goes on")
        pending = []
        parked = self.parking.all()
        for a in self.pending_dispatches():
            if a.bead_id in parked:
                continue
            agent = self.ledger.agents.get(a.agent_id)
            if agent and agent["status"] == vocab.AGENT_ASSIGNED and alive and a.agent_id in alive:
                try:
                    # started before a crash: adopt, never start twice
                    if not self.adopt(a, dispatcher):
                        pending.append(a)  # a previous bead's session: launching ends it
                except Exception as exc:
                    self.park(a.bead_id, exc, stage="adopting its session")
            else:
                pending.append(a)
        result = self.schedule()
        launches: list[Launch] = []
        failed: list[tuple[str, str]] = []
        for a in [*pending, *result.assignments]:
            try:
                prepared = dispatching.prepare(self, a, dispatcher)
            except Exception as exc:
                failed.append((a.bead_id, self._give_up_start(a, exc, dispatcher)))
                continue
            if isinstance(prepared, str):
                failed.append((a.bead_id, prepared))
            else:
                launches.append(prepared)
        return ReconcilePlan(result.assignments, launches, failed, recovered)

    def record(
        self,
        dispatcher: Dispatcher,
        plan: ReconcilePlan,
        outcomes: list[Started | BaseException],
    ) -> ReconcileReport:
        """After the launches: record each start (or its failure), then the invariants."""
        started, failed = [], list(plan.failed)
        for launch, outcome in zip(plan.launches, outcomes, strict=True):
            a = launch.assignment
            try:
                err = dispatching.record(self, a, dispatcher, outcome)
            except LedgerError:
                raise  # the ledger is away: this reconcile fails; the next adopts what started
            except Exception as exc:
                err = self._give_up_start(a, exc, dispatcher)
            if err is None:
                started.append(a)
            else:
                failed.append((a.bead_id, err))
        violations = self.check_invariants()
        return ReconcileReport(plan.assigned, started, failed, plan.recovered, violations)

    def _give_up_start(self, a: Assignment, exc: BaseException, dispatcher: Dispatcher) -> str:
        """An error no dispatcher should raise: park the bead, stop what may have started."""
        err = describe(exc)
        self.park(a.bead_id, err, stage="dispatching it")
        try:
            dispatcher.stop(a.agent_id)
        except Exception:
            log.exception("could not stop %s after a failed dispatch", a.agent_name)
        return err

    def stands_by(self) -> bool:
        """Hosts first: a host's engine re-joins if it was declared lost and declares the
        hosts whose lease ran out lost (engine/scheduler/host_failover.py). An engine
        without a host stands by while hosts serve the ledger: it would take their agents'
        sessions, which it cannot see, for dead."""
        if self.membership is not None:
            try:
                host_failover.keep_membership(self, self.membership)
                host_failover.declare_lost_hosts(self)
            except Exception:
                log.exception("the hosts' check failed; the reconcile goes on")
            return False
        live = self.ledger.hosts.live()
        if live and not self._standing_by:
            log.warning(
                "hosts (%s) joined this ledger: this engine without --host stands by",
                ", ".join(h["name"] for h in live),
            )
        self._standing_by = bool(live)
        return self._standing_by

    def apply_inbox(self, handlers: dict[str, Callable[[dict[str, Any]], None]]) -> None:
        inbox = self.ledger.inbox
        for item in inbox.pending():
            if not self.handles(item["payload"]):
                continue  # another host's agent: its engine types the nudge, stops the session
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

    def handles(self, payload: dict[str, Any]) -> bool:
        """Whether an inbox request is this engine's: with hosts, one about an agent is
        for the host that runs it (an agent of no host, or a gone one, for any)."""
        ident = payload.get("agent_id") if self.host is not None else None
        if not ident:
            return True
        agent = self.ledger.agents.get(str(ident))
        return agent is None or agent.get("host") in (None, self.host)

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
            for a in self.ledger.agents.list(host=self.host)
            if a["status"] in (vocab.AGENT_ASSIGNED, vocab.AGENT_HANDOFF) and a["hook"]
        ]

    def check_invariants(self) -> list[str]:
        found = self.ledger.agents.invariant_violations()
        fresh = [v for v in found if v not in self._reported]
        if fresh:
            with self.ledger.transaction():
                for v in fresh:
                    log.error("invariant violated: %s", v)
                    self.ledger.state.record_event(
                        "invariant_violated", actor="scheduler", data={"violation": v}
                    )
        self._reported = set(found)
        return found
