"""The rules that must hold between beads and agents after every tick, checked by query."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.ledger.db import Conn


def invariant_violations(conn: Conn) -> list[str]:
    """Rules that must hold after every tick; each broken one as a sentence."""
    out = []
    for r in conn.execute(
        "SELECT b.id, b.status, b.assignee, a.hook, a.status FROM beads b "
        "LEFT JOIN agents a ON a.id=b.assignee "
        "WHERE b.status IN ('hooked','in_progress')"
    ):
        if r[2] is None:
            out.append(f"{r[0]} is {r[1]} but has no assignee")
        elif r[3] != r[0]:
            out.append(f"{r[0]} is {r[1]} by {r[2]}, but that agent is hooked to {r[3]}")
        elif r[4] == "retired":
            out.append(f"{r[0]} is assigned to retired agent {r[2]}")
    for r in conn.execute(
        "SELECT a.id, a.hook, b.status FROM agents a LEFT JOIN beads b ON b.id=a.hook "
        "WHERE a.hook IS NOT NULL AND a.status != 'retired'"
    ):
        if r[2] not in ("hooked", "in_progress"):
            out.append(f"agent {r[0]} is hooked to {r[1]}, which is {r[2] or 'missing'}")
    for r in conn.execute(
        "SELECT id, status FROM agents WHERE hook IS NULL AND status IN "
        "('assigned','working','stalled')"
    ):
        out.append(f"agent {r[0]} is {r[1]} without a hook")
    for r in conn.execute(
        "SELECT hook, count(*) FROM agents WHERE hook IS NOT NULL AND "
        "status != 'retired' GROUP BY hook HAVING count(*) > 1"
    ):
        out.append(f"{r[0]} is hooked to {r[1]} agents")
    return out
