"""What an agent reports about its own work (`gt done`, checkpoints, handoff) and the
witness's health label: each checked against the agent's hook and attempt (fencing).

Plain functions the AgentStore delegates to; callers use ``ledger.agents``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.errors import Conflict, NotFound
from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.ledger.agents import AgentStore
    from engine.records import Agent


def hooked_agent(agents: AgentStore, ident: str, bead_id: str, attempt: int) -> Agent:
    """The calling agent, checked: alive, hooked to this bead, on this attempt."""
    agents.fence(bead_id, attempt)
    agent = agents.get(ident)
    if agent is None:
        raise NotFound(f"no live agent {ident!r}")
    if agent["hook"] != bead_id:
        raise Conflict(
            f"{agent['name']} is not hooked to {bead_id}"
            + (f" (its hook is {agent['hook']})" if agent["hook"] else "")
            + "; nothing was changed"
        )
    return agent


def submit(
    agents: AgentStore,
    ident: str,
    bead_id: str,
    attempt: int,
    *,
    title: str,
    summary: str | None,
    branch: str,
    commit: str,
    reason: str,
) -> str:
    """Completed work: a merge request for the branch (titled by the caller), the bead in
    review and its agent unhooked. Fenced; returns the merge request's id."""
    with agents.db.write(durable=True) as conn:
        agent = agents.hooked_agent(ident, bead_id, attempt)
        beads = agents.ledger.beads
        bead = beads.require(bead_id)
        now = iso(agents.ledger.now())
        mr = beads.insert(
            title=title,
            rig=bead["rig"],
            bead_type="merge-request",
            priority=bead["priority"],
            body=summary or "",
            created_by=agent["id"],
            metadata={"source": bead_id, "branch": branch, "commit": commit, "attempt": attempt},
        )
        conn.execute(
            "INSERT INTO merge_requests(bead_id, source_bead, rig, branch, commit_sha,"
            " agent, attempt, priority, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                mr,
                bead_id,
                bead["rig"],
                branch,
                commit,
                agent["id"],
                attempt,
                bead["priority"],
                now,
                now,
            ),
        )
        beads.set_status(
            bead_id,
            vocab.IN_REVIEW,
            actor=agent["id"],
            kind="done",
            data={"summary": summary, "branch": branch, "commit": commit, "merge_request": mr},
            fields={"assignee": None},
        )
        agents.release_hooked_to(bead_id, reason=reason)
        return mr


def escalate(
    agents: AgentStore,
    ident: str,
    bead_id: str,
    attempt: int,
    *,
    escalation: str,
    summary: str | None,
    reason: str,
) -> None:
    """The agent gives the bead back for a person to look at: the bead open and unslung,
    its agent unhooked, the escalation (filed by the caller through the ladder,
    engine/escalations.py, in the same transaction) named on its `escalated` event.
    Fenced."""
    with agents.db.write(durable=True):
        agent = agents.hooked_agent(ident, bead_id, attempt)
        agents.ledger.beads.set_status(
            bead_id,
            vocab.OPEN,
            actor=agent["id"],
            kind="escalated",
            data={"summary": summary, "escalation": escalation},
            fields={"assignee": None, "slung": 0},
        )
        agents.release_hooked_to(bead_id, reason=reason)


def defer(
    agents: AgentStore, ident: str, bead_id: str, attempt: int, *, summary: str | None, reason: str
) -> None:
    """The agent hands the bead back unfinished: deferred, its agent unhooked. Fenced."""
    with agents.db.write(durable=True):
        agent = agents.hooked_agent(ident, bead_id, attempt)
        agents.ledger.beads.set_status(
            bead_id,
            "deferred",
            actor=agent["id"],
            kind="deferred",
            data={"summary": summary},
            fields={"assignee": None},
        )
        agents.release_hooked_to(bead_id, reason=reason)


def record(
    agents: AgentStore, ident: str, kind: str, *, attempt: int | None, data: dict[str, Any]
) -> Agent:
    """An agent's note (checkpoint, heartbeat...) with its identity and attempt, fenced."""
    with agents.db.write() as conn:
        agent = agents.require(ident)
        if agent["status"] == vocab.AGENT_RETIRED:
            # e.g. its host was declared lost: the session is a zombie of an ended agent
            raise Conflict(f"{agent['name']} was retired; nothing was changed")
        bead_id = agent["hook"]
        if attempt is not None and bead_id:
            agents.fence(bead_id, attempt)
        now_e = agents.ledger.now()
        conn.execute(
            "UPDATE agents SET last_activity=?, last_heartbeat=?, updated_at=? WHERE id=?",
            (now_e, now_e, iso(now_e), agent["id"]),
        )
        record_event(conn, bead_id, kind, agent["id"], iso(now_e), data, attempt)
        return agent


def request_handoff(
    agents: AgentStore, ident: str, bead_id: str, attempt: int, *, note: str
) -> None:
    """The agent asks for a fresh session on the same hook; the engine restarts it."""
    with agents.db.write(durable=True) as conn:
        agent = agents.hooked_agent(ident, bead_id, attempt)
        now = iso(agents.ledger.now())
        bead = agents.ledger.beads.require(bead_id)
        meta = {**bead["metadata"], "handoff_note": note}
        conn.execute(
            "UPDATE beads SET metadata=?, updated_at=? WHERE id=?",
            (json.dumps(meta), now, bead_id),
        )
        conn.execute(
            "UPDATE agents SET status='handoff', updated_at=? WHERE id=?", (now, agent["id"])
        )
        record_event(conn, bead_id, "handoff", agent["id"], now, {"note": note}, attempt)


def set_health(
    agents: AgentStore,
    ident: str,
    status: str,
    *,
    info: dict[str, Any] | None = None,
    event: str | None = None,
) -> None:
    """The witness's label (and ladder position) for an agent."""
    with agents.db.write() as conn:
        agent = agents.require(ident)
        if agent["status"] == vocab.AGENT_RETIRED and status != vocab.AGENT_RETIRED:
            return  # a late label from a look taken before it was retired (host lost)
        now = iso(agents.ledger.now())
        merged = {**agent["info"], **(info or {})}
        conn.execute(
            "UPDATE agents SET status=?, info=?, updated_at=? WHERE id=?",
            (status, json.dumps(merged), now, agent["id"]),
        )
        if event or status != agent["status"]:
            record_event(
                conn,
                agent["hook"],
                event or f"agent_{status}",
                "witness",
                now,
                {"agent": agent["name"], "status": status},
                agent["attempt"],
            )


def requeue_attempt(
    agents: AgentStore, bead_id: str, attempt: int, *, reason: str, runtime: str | None
) -> None:
    """An attempt stopped for a reason that is not the bead's (its runtime hit a rate or
    usage limit): the agent is unhooked and the bead is open again at once, its failures
    unchanged (no attempt spent, no backoff: the runtime's pause is the wait). Fenced: a
    stale report changes nothing."""
    with agents.db.write(durable=True):
        row = agents.fence(bead_id, attempt)
        if row["status"] in vocab.FINAL_STATUSES:
            raise Conflict(f"{bead_id} is already {row['status']}")
        agents.release_hooked_to(bead_id, reason=reason)
        agents.ledger.beads.set_status(
            bead_id,
            vocab.OPEN,
            actor="scheduler",
            kind="rate_limited",
            data={"reason": reason, "runtime": runtime},
            fields={"assignee": None, "last_error": reason},
        )
