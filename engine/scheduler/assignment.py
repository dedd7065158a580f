"""Assignment: ready, slung beads hooked to polecats, by priority then age, within capacity.

The placement rules (which rig, which polecat) and the reasons a bead waits live here;
starting the sessions is engine.scheduler.dispatching's, after the assignments commit.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, NamedTuple

from engine import vocab
from engine.commands.costs import budget_stops
from engine.errors import Conflict
from engine.escalations import escalate_spent_budgets
from engine.polecats.dispatcher import Assignment
from engine.policy import rig_has_room, town_has_room
from engine.scheduler.names import next_name
from engine.scheduler.parking import describe
from engine.scheduler.placement import HostPlacement, choose_rig
from engine.scheduler.runtime_choice import IdlePolecats, runtime_of
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.records import Agent
    from engine.scheduler.reconciler import Scheduler

log = logging.getLogger("gastown.scheduler")

PAGE = 256


class ScheduleResult(NamedTuple):
    assignments: list[Assignment]
    reasons: dict[str, str]
    paused: str | None


def schedule(scheduler: Scheduler, *, only: str | None = None) -> ScheduleResult:
    """Hook ready, slung beads to polecats, by priority then age, within capacity."""
    paused = scheduler.breaker.blocks_dispatch()
    if paused:
        return ScheduleResult([], {}, paused)
    probe_only = scheduler.breaker.state()["state"] == "half_open"
    scheduler.pauses.end_passed()  # a pause whose time passed ends: its runtime takes work
    runtime_paused = scheduler.pauses.active()
    ledger = scheduler.ledger
    config = scheduler.config
    agents = ledger.agents
    out: list[Assignment] = []
    reasons: dict[str, str] = {}
    parked = scheduler.parking.all()
    faults: list[tuple[str, str]] = []  # (bead, why): the bead's own fault
    trouble: list[tuple[str, BaseException]] = []  # (bead, error): to be parked
    with ledger.transaction(durable=True):
        hosting = host_placement(scheduler)
        if isinstance(hosting, str):
            return ScheduleResult([], {}, hosting)
        # with hosts, capacities are each host's own (its town.toml): the town's and each rig's
        total, per_rig = agents.busy_counts(scheduler.host)
        town_cap = scheduler.settings.max_polecats
        if not town_has_room(total, scheduler.settings):
            where = f"host {scheduler.host}" if scheduler.host else "the town"
            return ScheduleResult(
                [], {}, f"{where} is at capacity ({total}/{town_cap} polecats working)"
            )
        spent = budget_stops(ledger, config)  # town.toml [budget]: spent, nothing new starts
        escalate_spent_budgets(ledger, spent.reasons(), config.escalation)  # once per budget
        if spent.town:
            return ScheduleResult([], {}, spent.town)
        rigs = ledger.rigs.list()
        rig_names = {r["name"] for r in rigs}
        placeable = hosting.served(rigs) if hosting is not None else rigs
        cap = config.rig_capacity
        live = agents.live_names()  # town-wide: names are unique across hosts
        idle = IdlePolecats(ledger, config, scheduler.host)
        now = ledger.now()
        after: tuple[Any, ...] | None = None
        while town_has_room(total, scheduler.settings):
            page = ledger.beads.dispatch_candidates(after=after, limit=PAGE, only=only)
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
                    rig, why = choose_rig(json.loads(row["labels"]), placeable, per_rig, cap)
                    if rig is None:
                        reasons[bid] = why
                        continue
                elif rig not in rig_names:
                    reasons[bid] = f"its rig {rig!r} no longer exists"
                    continue
                elif not rig_has_room(per_rig.get(rig, 0), cap(rig)):
                    reasons[bid] = (
                        f"rig {rig} is at capacity ({per_rig.get(rig, 0)}/"
                        f"{cap(rig)} polecats working)"
                    )
                    continue
                handed = hosting.waits(bid, rig) if hosting is not None else None
                if handed:
                    reasons[bid] = handed
                    continue
                # resolved afresh: a reused idle polecat runs what the bead or town.toml
                # names now, not what was named when the polecat was made
                runtime = runtime_of(config, rig, row["runtime"])
                paused_why = scheduler.pauses.blocks(runtime, runtime_paused)
                if paused_why:
                    reasons[bid] = paused_why  # the other runtimes' beads go on
                    continue
                if spent.blocks(bid):
                    reasons[bid] = str(spent.blocks(bid))  # its convoy's budget is spent
                    continue
                try:
                    # all or nothing per bead: one bad row must not undo the others
                    with ledger.savepoint():
                        agent = preferred(scheduler, row, rig, runtime) or idle.for_bead(
                            rig, runtime
                        )
                        if agent is None:
                            make_room(scheduler, rig, runtime, agents.live_count(scheduler.host))
                            live = agents.live_names()
                            name = next_name(live)
                            agent = agents.allocate(rig, name, runtime, host=scheduler.host)
                        attempt = agents.assign(agent, bid, rig=rig, runtime=runtime)
                except Exception as exc:
                    trouble.append((bid, exc))
                    reasons[bid] = f"parked after an error: {describe(exc)}"
                    live = agents.live_names()
                    continue
                live.add(agent["name"])
                out.append(Assignment(agent["id"], agent["name"], rig, bid, attempt, runtime))
                total += 1
                per_rig[rig] = per_rig.get(rig, 0) + 1
                if hosting is not None:
                    hosting.claimed()
                if probe_only or not town_has_room(total, scheduler.settings):
                    break
            if len(page) < PAGE or only or probe_only:
                break
            last = page[-1]
            after = (last["priority"], last["created_at"], last["seq"])
    for bid, why in faults:
        scheduler.reject(bid, why)
    for bid, error in trouble:
        scheduler.park(bid, error, stage="assigning it")
    if out:
        log.info("assigned %s", ", ".join(f"{a.bead_id}→{a.agent_name}" for a in out))
    return ScheduleResult(out, reasons, None)


def preferred(scheduler: Scheduler, row: Any, rig: str, runtime: str) -> Agent | None:
    """Work sent back (failed gates, a conflict) goes to the same polecat if it is free
    (and runs the bead's runtime)."""
    if row["metadata"] in (None, "{}"):
        return None
    wanted = json.loads(row["metadata"]).get("prefer_agent")
    agent = scheduler.ledger.agents.get(wanted) if wanted else None
    if (
        agent
        and agent["rig"] == rig
        and agent.get("host") == scheduler.host
        and agent["status"] == vocab.AGENT_IDLE
        and not agent["hook"]
        and agent["runtime"] == runtime
    ):
        return agent
    return None


def make_room(scheduler: Scheduler, rig: str, runtime: str, live_count: int) -> None:
    """Keep live polecats within the town's capacity: retire an idle one that cannot take
    this bead (of another rig, or of this rig on another runtime)."""
    if town_has_room(live_count, scheduler.settings):
        return
    agents = scheduler.ledger.agents
    other = agents.longest_idle_outside(rig, runtime, host=scheduler.host)
    if other:
        agents.retire(other, reason="room for a polecat in " + rig)


def host_placement(scheduler: Scheduler) -> HostPlacement | str | None:
    """With hosts sharing the ledger: this host's placement, or why it places nothing
    (it is not live: declared lost, it re-joins first; or this engine has no host while
    hosts serve the town). None in a single-host town."""
    hosts = scheduler.ledger.hosts
    live = hosts.live()
    if scheduler.host is None:
        if not live:
            return None
        names = ", ".join(h["name"] for h in live)
        return f"the town's hosts ({names}) place its work; a host's engine will take it"
    me = next((h for h in live if h["name"] == scheduler.host), None)
    if me is None or me["epoch"] != scheduler.host_epoch:
        return f"host {scheduler.host} is not live under its epoch; it re-joins first"
    return HostPlacement(me, live, hosts.busy_counts(), scheduler.ledger.now(), scheduler.host_seen)


def sling(scheduler: Scheduler, bead_id: str, *, actor: str | None = None) -> dict[str, Any]:
    """Put one bead in motion; assign it inline when it can start now ("Toast is on it!")."""
    ledger = scheduler.ledger
    with ledger.transaction(durable=True):
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
        staged = ledger.beads.staged_convoy_of(bead_id)
        if staged:
            raise Conflict(
                f"{bead_id} belongs to staged convoy {staged}; "
                f"launch it with `gt convoy launch {staged}`"
            )
        ledger.beads.set_slung(bead_id, actor=actor)
        return scheduler.place(bead_id)


def place(scheduler: Scheduler, bead_id: str) -> dict[str, Any]:
    """Try to assign one slung bead now: who took it, or why it waits."""
    result = scheduler.schedule(only=bead_id)
    if result.assignments:
        a = result.assignments[0]
        return {
            "id": bead_id,
            "agent": a.agent_name,
            "agent_id": a.agent_id,
            "rig": a.rig,
            "attempt": a.attempt,
            "runtime": a.runtime,
            "queued": False,
            "reason": None,
        }
    reason = result.paused or result.reasons.get(bead_id) or scheduler.why_waiting(bead_id)
    return {"id": bead_id, "agent": None, "queued": True, "reason": reason}


def why_waiting(scheduler: Scheduler, bead_id: str) -> str:
    ledger = scheduler.ledger
    bead = ledger.beads.require(bead_id)
    if bead["blocked"]:
        blockers = ledger.graph.blockers(bead_id)
        return "blocked by " + ", ".join(f"{b['id']} ({b['status']})" for b in blockers)
    if bead["ephemeral"]:
        return "it is ephemeral"
    if bead["defer_until"]:
        return f"deferred until {bead['defer_until']}"
    if bead["status"] != vocab.OPEN:
        return f"it is {bead['status']}"
    if bead["rig"] or bead["runtime"]:
        # the bead's runtime, else its rig's (a rig-less bead's rig is chosen at dispatch)
        runtime = bead["runtime"] or scheduler.config.runtime_for(bead["rig"] or "")
        paused = scheduler.pauses.blocks(runtime, scheduler.pauses.active())
        if paused:
            return paused
    return "waiting for the scheduler"


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
