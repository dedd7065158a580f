"""Agents (polecats): identity, hook, attempt, and the fenced transitions of their work.

What agents report (agent_tools.py), their session tokens (agent_tokens.py) and the
bead/agent invariants (invariants.py) live in their own modules; the store delegates. The
reads (lists, idle polecats) are in agent_queries.py.

Fencing: every dispatch increments the bead's attempt and the agent carries it; anything an
agent reports later names its attempt, and a report from an earlier attempt (a zombie of a
previous session) is refused without effect.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.errors import Conflict, NotFound
from engine.ledger import agent_tokens, agent_tools, invariants, rows
from engine.ledger.agent_queries import AgentQueries
from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.ledger.db import Row
    from engine.records import Agent


def agent_id(rig: str, name: str, role: str = "polecat") -> str:
    return f"{rig}/{role}s/{name}" if role == "polecat" else f"{rig}/{role}"


class AgentStore(AgentQueries):
    """The writes; the reads are AgentQueries' (agent_queries.py)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    # ---- lifecycle -----------------------------------------------------------------------

    def allocate(
        self, rig: str, name: str, runtime: str | None, *, host: str | None = None
    ) -> Agent:
        """A new polecat (or a retired identity of the same rig and name, revived), run by
        `host`'s engine (None: a single-host town)."""
        conn = self.db.conn
        now_e = self.ledger.now()
        now = iso(now_e)
        aid = agent_id(rig, name)
        if conn.execute("SELECT 1 FROM agents WHERE id=?", (aid,)).fetchone():
            conn.execute(
                "UPDATE agents SET status='idle', hook=NULL, runtime=?, session=NULL,"
                " updated_at=?, idle_since=?, last_activity=?, host=? WHERE id=?",
                (runtime, now, now_e, now_e, host, aid),
            )
        else:
            conn.execute(
                "INSERT INTO agents(id, name, rig, role, status, runtime, created_at,"
                " updated_at, idle_since, last_activity, host) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    aid,
                    name,
                    rig,
                    "polecat",
                    vocab.AGENT_IDLE,
                    runtime,
                    now,
                    now,
                    now_e,
                    now_e,
                    host,
                ),
            )
        record_event(conn, None, "agent_allocated", aid, now, {"rig": rig, "name": name})
        return rows.agent(conn.execute("SELECT * FROM agents WHERE id=?", (aid,)).fetchone())

    def assign(
        self,
        agent: Agent,
        bead_id: str,
        *,
        rig: str,
        runtime: str | None = None,
    ) -> int:
        """Hook a ready bead to an idle agent; returns the new attempt number.
        `runtime`, when given, replaces the agent's (the config may have changed)."""
        conn = self.db.conn
        row = conn.execute(
            "SELECT status, attempt, assignee FROM beads WHERE id=?", (bead_id,)
        ).fetchone()
        if row is None or row["status"] != vocab.OPEN or row["assignee"]:
            raise Conflict(f"{bead_id} is not open and unassigned")
        attempt = int(row["attempt"]) + 1
        now_e = self.ledger.now()
        now = iso(now_e)
        conn.execute(
            "UPDATE beads SET status='hooked', assignee=?, attempt=?, rig=?,"
            " updated_at=? WHERE id=?",
            (agent["id"], attempt, rig, now, bead_id),
        )
        conn.execute(
            "UPDATE agents SET status='assigned', hook=?, attempt=?, updated_at=?,"
            " idle_since=NULL, last_activity=?, runtime=coalesce(?, runtime) WHERE id=?",
            (bead_id, attempt, now, now_e, runtime, agent["id"]),
        )
        record_event(
            conn, bead_id, "hooked", agent["id"], now, {"agent": agent["name"], "rig": rig}, attempt
        )
        self.ledger.graph.status_changed(conn, bead_id, vocab.OPEN, vocab.HOOKED)
        return attempt

    def fence(self, bead_id: str, attempt: int, *, then: str = "nothing was changed") -> Row:
        """The one attempt comparison: a call from an attempt that is not the bead's
        current one is refused (Conflict, ending with `then`: what the caller should do)."""
        conn = self.db.conn
        row = conn.execute("SELECT * FROM beads WHERE id=?", (bead_id,)).fetchone()
        if row is None:
            raise NotFound(f"no bead {bead_id}")
        if int(row["attempt"]) != int(attempt):
            raise Conflict(
                f"stale attempt {attempt} for {bead_id} (the current attempt is "
                f"{row['attempt']}); {then}"
            )
        return row

    def mark_started(
        self,
        agent_ident: str,
        bead_id: str,
        attempt: int,
        *,
        session: str | None = None,
        worktree: str | None = None,
        branch: str | None = None,
    ) -> None:
        # Not durable on purpose: a lost "working" mark comes back as a pending dispatch
        # whose live session is adopted on the next tick.
        with self.db.write() as conn:
            self.fence(bead_id, attempt)
            agent = self.require(agent_ident)
            if agent["hook"] != bead_id:
                raise Conflict(f"{agent['name']} is not hooked to {bead_id}")
            now_e = self.ledger.now()
            now = iso(now_e)
            conn.execute(
                "UPDATE agents SET status='working', session=coalesce(?, session),"
                " worktree=coalesce(?, worktree), branch=coalesce(?, branch),"
                " updated_at=?, last_activity=?, last_heartbeat=?"
                " WHERE id=?",
                (session, worktree, branch, now, now_e, now_e, agent["id"]),
            )
            self.ledger.beads.set_status(
                bead_id,
                vocab.IN_PROGRESS,
                actor=agent["id"],
                kind="started",
                data={"session": session, "branch": branch},
            )

    def fail_attempt(
        self,
        bead_id: str,
        attempt: int,
        *,
        reason: str,
        kind: str,
        failures: int,
        retry_in: float | None,
        failed_reason: str,
        close_reason: str,
    ) -> dict[str, Any]:
        """An attempt ended badly (dispatch failed, session died, stalled out).

        The agent is unhooked; the bead goes back to open for `retry_in` seconds' wait, or
        to failed when `retry_in` is None (its attempts are used up), with the caller's
        `failed_reason` (its event) and `close_reason`. Both are the caller's decision
        (engine/policy.py) for `failures`, the count this failure makes, read with
        `ledger.beads.failure_count` in the same transaction. Fenced: a stale report
        changes nothing.
        """
        with self.db.write(durable=True) as conn:
            row = self.fence(bead_id, attempt)
            if row["status"] in vocab.FINAL_STATUSES:
                raise Conflict(f"{bead_id} is already {row['status']}")
            rows.check_decided_on(row, failures)
            now_e = self.ledger.now()
            self.release_hooked_to(bead_id, reason=reason)
            record_event(
                conn, bead_id, kind, row["assignee"], iso(now_e), {"reason": reason}, attempt
            )
            if retry_in is None:
                self.ledger.beads.set_status(
                    bead_id,
                    vocab.FAILED,
                    actor="scheduler",
                    kind="failed",
                    data={"reason": failed_reason},
                    fields={
                        "assignee": None,
                        "failures": failures,
                        "last_error": reason,
                        "close_reason": close_reason,
                    },
                )
                return {"status": vocab.FAILED, "failures": failures, "retry_at": None}
            delay = retry_in
            self.ledger.beads.set_status(
                bead_id,
                vocab.OPEN,
                actor="scheduler",
                kind="requeued",
                data={"reason": reason, "retry_in": delay},
                fields={
                    "assignee": None,
                    "failures": failures,
                    "last_error": reason,
                    "not_before": now_e + delay,
                },
            )
            return {"status": vocab.OPEN, "failures": failures, "retry_at": now_e + delay}

    def requeue_attempt(
        self, bead_id: str, attempt: int, *, reason: str, runtime: str | None
    ) -> None:
        agent_tools.requeue_attempt(self, bead_id, attempt, reason=reason, runtime=runtime)

    def release_hooked_to(self, bead_id: str, *, reason: str) -> None:
        """Whoever is hooked to this bead is unhooked and goes idle."""
        conn = self.db.conn
        now_e = self.ledger.now()
        for r in conn.execute("SELECT id FROM agents WHERE hook=?", (bead_id,)).fetchall():
            conn.execute(
                "UPDATE agents SET hook=NULL, status='idle', idle_since=?, updated_at=? WHERE id=?",
                (now_e, iso(now_e), r[0]),
            )
            record_event(conn, bead_id, "unhooked", r[0], iso(now_e), {"reason": reason})

    def set_status(self, ident: str, status: str, reason: str | None = None) -> None:
        conn = self.db.conn
        now_e = self.ledger.now()
        conn.execute(
            "UPDATE agents SET status=?, updated_at=? WHERE id=?", (status, iso(now_e), ident)
        )
        record_event(conn, None, f"agent_{status}", ident, iso(now_e), {"reason": reason})

    def retire(self, ident: str, *, reason: str) -> None:
        conn = self.db.conn
        now_e = self.ledger.now()
        conn.execute(
            "UPDATE agents SET status='retired', hook=NULL, session=NULL, updated_at=? WHERE id=?",
            (iso(now_e), ident),
        )
        record_event(conn, None, "agent_retired", ident, iso(now_e), {"reason": reason})

    def retire_rig(self, rig: str, *, reason: str) -> None:
        conn = self.db.conn
        for r in conn.execute(
            "SELECT id, hook FROM agents WHERE rig=? AND status != 'retired'", (rig,)
        ).fetchall():
            if r["hook"]:
                bead = conn.execute("SELECT status FROM beads WHERE id=?", (r["hook"],)).fetchone()
                if bead and bead["status"] in (vocab.HOOKED, vocab.IN_PROGRESS):
                    self.ledger.beads.set_status(
                        r["hook"],
                        vocab.OPEN,
                        actor="scheduler",
                        kind="requeued",
                        data={"reason": reason},
                        fields={"assignee": None},
                    )
            self.retire(r["id"], reason=reason)

    # ---- the rest lives in its own room; these keep the store's API -----------------------

    def invariant_violations(self) -> builtins.list[str]:
        """Rules that must hold after every tick; each broken one as a sentence."""
        return invariants.invariant_violations(self.db.conn)

    def hooked_agent(self, ident: str, bead_id: str, attempt: int) -> Agent:
        return agent_tools.hooked_agent(self, ident, bead_id, attempt)

    # `gt done`'s three outcomes (engine/commands/done.py decides which, and their words)

    def submit(
        self,
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
        return agent_tools.submit(
            self,
            ident,
            bead_id,
            attempt,
            title=title,
            summary=summary,
            branch=branch,
            commit=commit,
            reason=reason,
        )

    def escalate(
        self,
        ident: str,
        bead_id: str,
        attempt: int,
        *,
        escalation: str,
        summary: str | None,
        reason: str,
    ) -> None:
        agent_tools.escalate(
            self,
            ident,
            bead_id,
            attempt,
            escalation=escalation,
            summary=summary,
            reason=reason,
        )

    def defer(
        self, ident: str, bead_id: str, attempt: int, *, summary: str | None, reason: str
    ) -> None:
        agent_tools.defer(self, ident, bead_id, attempt, summary=summary, reason=reason)

    def record(self, ident: str, kind: str, *, attempt: int | None, data: dict[str, Any]) -> Agent:
        return agent_tools.record(self, ident, kind, attempt=attempt, data=data)

    def request_handoff(self, ident: str, bead_id: str, attempt: int, *, note: str) -> None:
        agent_tools.request_handoff(self, ident, bead_id, attempt, note=note)

    def set_health(
        self,
        ident: str,
        status: str,
        *,
        info: dict[str, Any] | None = None,
        event: str | None = None,
    ) -> None:
        agent_tools.set_health(self, ident, status, info=info, event=event)

    def issue_token(self, ident: str, attempt: int) -> str:
        return agent_tokens.issue_token(self, ident, attempt)

    def authenticate(self, ident: str, token: str | None) -> Agent:
        return agent_tokens.authenticate(self, ident, token)
