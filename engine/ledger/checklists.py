"""Checklists: a checklist formula's steps attached to a bead, and the agents' ticks."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from engine.errors import Conflict, NotFound
from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from collections.abc import Sequence

    from engine.ledger import Ledger
    from engine.records import ChecklistStep

_FIELDS = (
    "bead_id",
    "position",
    "step_id",
    "formula",
    "title",
    "description",
    "acceptance",
    "done_at",
    "done_by",
    "done_attempt",
)


class ChecklistStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    def steps(self, bead_id: str) -> builtins.list[ChecklistStep]:
        rows = self.db.conn.execute(
            f"SELECT {', '.join(_FIELDS)} FROM checklist_steps WHERE bead_id=? ORDER BY position",
            (bead_id,),
        ).fetchall()
        out: builtins.list[Any] = [dict(zip(_FIELDS, tuple(r), strict=True)) for r in rows]
        return out

    def attach(
        self,
        bead_id: str,
        formula: str,
        steps: Sequence[tuple[str, str, str, str]],
        *,
        actor: str | None,
    ) -> builtins.list[ChecklistStep]:
        """Attach (step id, title, description, acceptance) rows in the caller's transaction.
        The same formula again changes nothing (its ticks stay); another one is refused."""
        conn = self.db.conn
        self.ledger.beads.require(bead_id)
        have = conn.execute(
            "SELECT formula FROM checklist_steps WHERE bead_id=? LIMIT 1", (bead_id,)
        ).fetchone()
        if have is not None:
            if have[0] == formula:
                return self.steps(bead_id)
            raise Conflict(f"{bead_id} already has the checklist {have[0]!r}")
        for position, (step_id, title, description, acceptance) in enumerate(steps, 1):
            conn.execute(
                "INSERT INTO checklist_steps(bead_id, position, step_id, formula, title,"
                " description, acceptance) VALUES (?,?,?,?,?,?,?)",
                (bead_id, position, step_id, formula, title, description, acceptance),
            )
        now = iso(self.ledger.now())
        data = {"formula": formula, "steps": [s[0] for s in steps]}
        record_event(conn, bead_id, "checklist_attached", actor, now, data)
        return self.steps(bead_id)

    def tick(self, bead_id: str, step_id: str, *, agent: str, attempt: int) -> bool:
        """Tick a step, fenced by the attempt, in the caller's transaction. False when it
        was ticked already (the first tick, its agent and attempt, stay)."""
        conn = self.db.conn
        self.ledger.agents.fence(bead_id, attempt)
        row = conn.execute(
            "SELECT formula, done_at FROM checklist_steps WHERE bead_id=? AND step_id=?",
            (bead_id, step_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"no step {step_id!r} in {bead_id}'s checklist")
        if row["done_at"] is not None:
            return False
        now = iso(self.ledger.now())
        conn.execute(
            "UPDATE checklist_steps SET done_at=?, done_by=?, done_attempt=? "
            "WHERE bead_id=? AND step_id=?",
            (now, agent, attempt, bead_id, step_id),
        )
        data = {"step": step_id, "formula": row["formula"]}
        record_event(conn, bead_id, "step_done", agent, now, data, attempt=attempt)
        return True
