"""Snapshots of the town for the app: everything one screen refresh needs, in one call.

Each function reads through the ledger's stores (no SQL here) and returns plain data.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.deacon import forecast
from engine.deacon.rounds import rows as patrol_rows
from engine.views.needs_you import header_counts

if TYPE_CHECKING:
    from collections.abc import Mapping

    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.records import QueuedMergeRequest
    from engine.town import Town

BEAD_FILTERS = {
    "ready": ("open",),
    "blocked": ("open",),
    "in progress": ("hooked", "in_progress"),
    "in review": ("in_review",),
    "all": None,
}
MAX_ROWS = 500


def rigs_tree(ledger: Ledger, config: TownConfig) -> list[dict[str, Any]]:
    """Rigs with their polecats (health, hook, runtime), witness and refinery."""
    from engine.refinery import stats as refinery_stats

    out = []
    agents = ledger.agents.list()
    mq_open = ledger.mq.list(states=("queued", "testing", "landing", "awaiting_approval"))
    for rig in ledger.rigs.list():
        name = rig["name"]
        polecats = [a for a in agents if a["rig"] == name]
        working = sum(1 for a in polecats if a["hook"])
        stats = refinery_stats.read(ledger, name)
        queue = [m for m in mq_open if m["rig"] == name]
        problems = sum(1 for a in polecats if a["status"] in ("stalled", "gupp", "zombie"))
        out.append(
            {
                "name": name,
                "prefix": rig["prefix"],
                "capacity": config.rig_capacity(name),
                "working": working,
                "counts": ledger.rigs.counts(name),
                "polecats": [
                    {
                        "name": a["name"],
                        "id": a["id"],
                        "status": a["status"],
                        "hook": a["hook"],
                        "runtime": a["runtime"],
                        "attempt": a["attempt"],
                        "host": a.get("host"),  # None in a single-host town
                    }
                    for a in polecats
                ],
                "witness": {"status": "watching", "problems": problems},
                "refinery": {
                    "queued": len(queue),
                    "testing": sum(1 for m in queue if m["state"] == "testing"),
                    "batch_size": refinery_stats.batch_size(stats, config.rig(name).max_batch),
                    "last_batch": stats.get("last_batch"),
                },
            }
        )
    return out


def bead_rows(ledger: Ledger, flt: str = "all", search: str = "") -> list[dict[str, Any]]:
    """The bead table: work beads (records left out), with what blocks each."""
    statuses = BEAD_FILTERS.get(flt)
    beads: Any  # a list of Beads, each given `blocked_by` (the blockers' ids) below: a view row
    if flt == "ready":
        beads = ledger.beads.ready(limit=MAX_ROWS)
    elif statuses is None:
        beads = ledger.beads.list(include_records=False, limit=MAX_ROWS)
    else:
        beads = []
        for st in statuses:
            beads += ledger.beads.list(status=st, include_records=False, limit=MAX_ROWS)
    if flt == "blocked":
        beads = [b for b in beads if b["blocked"]]
    elif flt == "ready":
        beads = [b for b in beads if not b["blocked"]]
    if search:
        needle = search.lower()
        beads = [b for b in beads if needle in b["title"].lower() or needle in b["id"].lower()]
    graph = ledger.graph
    predicted = forecast.marks(ledger)  # the conflict forecast's marks
    for b in beads:
        b["blocked_by"] = [x["id"] for x in graph.blockers(b["id"])] if b["blocked"] else []
        b["forecast"] = predicted.get(b["id"], [])
    return beads


def convoys(ledger: Ledger) -> list[dict[str, Any]]:
    return [
        {
            "id": c["id"],
            "title": c["title"],
            "status": c["status"],
            "progress": c["progress"],
            "created_at": c["created_at"],
        }
        for c in ledger.convoys.list()
    ]


def convoy_graph(ledger: Ledger, convoy_id: str) -> dict[str, Any]:
    """The convoy's beads and the `blocks` edges among them (a → b: b needs a)."""
    st = ledger.convoys.status(convoy_id)
    ids = {b["id"] for b in st["tracked"]}
    edges = []
    for b in st["tracked"]:
        for d in ledger.graph.edges_of(b["id"])["depends_on"]:
            if d["type"] == vocab.BLOCKS and d["id"] in ids:
                edges.append((d["id"], b["id"]))
    return {
        "id": st["id"],
        "title": st["title"],
        "status": st["status"],
        "progress": st["progress"],
        "beads": st["tracked"],
        "edges": edges,
        "rigs": st["rigs"],
    }


def mail(ledger: Ledger, address: str = vocab.MAYOR) -> dict[str, Any]:
    msgs = ledger.mail.inbox([address])
    return {"unread": sum(1 for m in msgs if not m["read"]), "messages": msgs[:200]}


def merge_queue(ledger: Ledger) -> list[QueuedMergeRequest]:
    rows = ledger.mq.list(
        states=("queued", "testing", "landing", "awaiting_approval", "failed", "conflict")
    )
    recent = ledger.mq.list(states=("landed", "rejected", "dropped"))[-20:]
    return rows + recent


def problems(ledger: Ledger) -> list[dict[str, Any]]:
    """Stalled / GUPP / zombie agents, failed beads, open escalations, stranded convoys,
    parked beads, runtimes paused by a rate or usage limit, and a tripped breaker with the
    reasons of the failures that tripped it."""
    out: list[dict[str, Any]] = []
    for a in ledger.agents.list():
        if a["status"] in ("stalled", "gupp", "zombie"):
            out.append(
                {
                    "kind": a["status"],
                    "id": a["name"],
                    "text": f"{a['name']} ({a['rig']}) on {a['hook'] or '-'}",
                    # held by the witness: its screen waits for a person (a login, a question)
                    "needs_you": bool((a["info"].get("screen") or {}).get("needs_you")),
                }
            )
    for b in ledger.beads.list(status=vocab.FAILED, include_records=False, limit=100):
        out.append(
            {
                "kind": "failed",
                "id": b["id"],
                "text": f"{b['title']}: {b['close_reason'] or b['last_error'] or ''}",
            }
        )
    for e in ledger.beads.list(bead_type="escalation", status=vocab.OPEN, limit=100):
        meta = e["metadata"]
        out.append(
            {
                "kind": "escalation",
                "id": e["id"],
                "text": e["title"],
                "severity": meta.get("severity") or "medium",
                "acked": bool(meta.get("acked_by")),
                # its route's banner (critical by default), until someone acknowledges it
                "banner": bool(meta.get("banner")) and not meta.get("acked_by"),
            }
        )
    from engine.deacon.stranded import stranded_convoys  # the deacon's rule, read live

    for sc in stranded_convoys(ledger):
        out.append({"kind": "stranded", "id": sc.id, "text": f"convoy {sc.title}: {sc.why}"})
    from engine.deacon.rounds import patrol_problems

    out += patrol_problems(ledger)
    from engine.scheduler.breaker import summarize
    from engine.scheduler.parking import parked

    for bead_id, entry in parked(ledger).items():
        out.append(
            {
                "kind": "parked",
                "id": bead_id,
                "text": f"{bead_id} parked while {entry.get('stage')}: {entry.get('reason')}",
            }
        )
    from engine.scheduler.runtime_pauses import RuntimePauses, pause_rows
    from engine.timeutil import relative

    for p in pause_rows(RuntimePauses(ledger).active()):
        out.append(
            {
                "kind": "paused",
                "id": p["runtime"],
                # for a person reading the Problems tab: "back in 4 min", not an ISO stamp
                "text": f"runtime {p['runtime']} paused, back {relative(p['until'])}"
                f"{'' if p['shown'] else ' (backoff)'}: {p['reason']}",
            }
        )
    from engine.commands.costs import spent_budgets

    for s in spent_budgets(ledger):  # the scheduler's last look (town.toml [budget])
        out.append({"kind": "budget", "id": s["scope"], "text": s["reason"]})
    breaker = ledger.state.get("breaker", {"state": "closed"})
    if breaker["state"] != "closed":
        out.append(
            {
                "kind": "breaker",
                "id": "breaker",
                "state": breaker["state"],
                "text": f"dispatch paused: circuit breaker {breaker['state']} after "
                f"{summarize(breaker)}",
            }
        )
    return out


def snapshot(
    ledger: Ledger,
    config: TownConfig,
    *,
    bead_filter: str = "all",
    search: str = "",
    convoy_id: str | None = None,
) -> dict[str, Any]:
    with ledger.snapshot():
        all_convoys = convoys(ledger)
        if convoy_id is None or not any(c["id"] == convoy_id for c in all_convoys):
            active = [c for c in all_convoys if c["status"] in ("open", "staged")]
            convoy_id = (active or all_convoys or [{"id": None}])[-1]["id"]
        found = problems(ledger)
        return {
            "rigs": rigs_tree(ledger, config),
            "beads": bead_rows(ledger, bead_filter, search),
            "convoys": all_convoys,
            "convoy": convoy_graph(ledger, convoy_id) if convoy_id else None,
            "mail": mail(ledger),
            "mq": merge_queue(ledger),
            "problems": found,
            "needs": header_counts(found),
            "counts": ledger.beads.status_counts(),
            # each patrol's last run, findings and next run (read only: the rounds write)
            "patrols": patrol_rows(ledger, config.deacon),
        }


def bead_detail(ledger: Ledger, town: Town, bead_id: str) -> dict[str, Any]:
    from engine.polecats import seance

    with ledger.snapshot():
        # a Bead, given the detail screen's keys below (edges, history, requests, sessions)
        bead: Any = ledger.beads.require(bead_id)
        edges = ledger.graph.edges_of(bead_id)
        bead["depends_on"], bead["dependents"] = edges["depends_on"], edges["dependents"]
        bead["history"] = ledger.beads.history(bead_id)
        bead["merge_requests"] = [m for m in ledger.mq.list() if m["source_bead"] == bead_id]
        bead["forecast"] = forecast.marks(ledger).get(bead_id, [])
        from engine.ledger.checklists import ChecklistStore

        bead["checklist"] = ChecklistStore(ledger).steps(bead_id)  # [] without one
    bead["sessions"] = [
        {"agent": s.agent, "attempt": s.attempt, "log": s.path, "tail": seance.tail(s.path, 30)}
        for s in seance.find_logs(town.logs_dir, bead=bead_id)
    ]
    return bead


def agent_detail(ledger: Ledger, town: Town, ident: str) -> dict[str, Any]:
    from engine.polecats import seance

    # an Agent, given the detail screen's keys below (history, recent, log)
    agent: Any = ledger.agents.require(ident)
    logs = seance.find_logs(town.logs_dir, agent=agent["name"], rig=agent["rig"])
    agent["history"] = [{"bead": s.bead, "attempt": s.attempt, "log": s.path} for s in logs]
    agent["recent"] = seance.tail(logs[-1].path, 40) if logs else []
    agent["log"] = current_log(town, agent)
    agent["forecast"] = forecast.marks(ledger).get(agent["hook"] or "", [])
    return agent


def current_log(town: Town, agent: Mapping[str, Any]) -> str | None:
    """The log file of an agent's current (or last) session."""
    from engine.polecats import seance

    if agent.get("hook"):
        path = seance.log_path(
            town.logs_dir, agent["rig"], agent["name"], agent["hook"], agent["attempt"]
        )
        if os.path.exists(path):
            return path
    logs = seance.find_logs(town.logs_dir, agent=agent["name"], rig=agent["rig"])
    return logs[-1].path if logs else None
