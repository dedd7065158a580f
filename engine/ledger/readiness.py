"""Readiness kept up to date incrementally: the `blocked` flag and the defer chain.

Readiness (Beads' rule, shared/data/README.md): a bead is *blocked* when a `blocks`
dependency points at an existing bead whose status is not closed/pinned/tombstone, or when
its parent (the target of its `parent-child` edge) is blocked. Rather than re-scanning the
whole graph on each write (the original Beads took seconds per close that way), the
`blocked` column is maintained here: a write re-evaluates only the beads it can affect and
walks on only where the answer changed. GraphStore (``ledger.graph``) delegates here.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from engine import vocab
from engine.timeutil import parse_iso

if TYPE_CHECKING:
    from collections.abc import Iterable

    from engine.ledger.db import Conn

UNBLOCKING_SQL = "('closed','pinned','tombstone')"
# Beads follows blocked parents up to this many levels.
MAX_PARENT_DEPTH = 50

_DIRECT_SQL = f"""
SELECT EXISTS(
    SELECT 1 FROM deps d JOIN beads t ON t.id = d.depends_on
    WHERE d.bead_id = ? AND d.type = 'blocks' AND t.status NOT IN {UNBLOCKING_SQL})
"""


def is_unblocking(status: str) -> bool:
    return status in vocab.UNBLOCKING_STATUSES


def refresh_blocked(conn: Conn, ids: Iterable[str]) -> int:
    """Re-evaluate `blocked` for these beads and their parent-child descendants.

    Each bead is evaluated from the ground truth (its own blockers and those of its
    ancestors within MAX_PARENT_DEPTH), never from stored flags, so the order of
    evaluation cannot matter and cycles in imported data cannot spin.
    """
    affected: dict[str, int] = {}
    queue = deque((bid, 0) for bid in ids)
    while queue:
        bid, depth = queue.popleft()
        if bid in affected and affected[bid] <= depth:
            continue
        affected[bid] = depth
        if depth < MAX_PARENT_DEPTH:
            queue.extend(
                (r[0], depth + 1)
                for r in conn.execute(
                    "SELECT bead_id FROM deps WHERE depends_on=? AND type='parent-child'",
                    (bid,),
                )
            )
    direct: dict[str, bool] = {}
    changed = 0
    for bid in affected:
        row = conn.execute("SELECT blocked FROM beads WHERE id=?", (bid,)).fetchone()
        if row is None:
            continue
        now_blocked = int(_blocked_by_rule(conn, bid, direct))
        if now_blocked != row[0]:
            changed += 1
            conn.execute("UPDATE beads SET blocked=? WHERE id=?", (now_blocked, bid))
    return changed


def _blocked_by_rule(conn: Conn, bead_id: str, direct: dict[str, bool]) -> bool:
    """Blocked itself, or an ancestor within MAX_PARENT_DEPTH levels is (Beads' rule)."""
    seen = {bead_id}
    frontier = [bead_id]
    for _depth in range(MAX_PARENT_DEPTH + 1):
        nxt = []
        for node in frontier:
            if node not in direct:
                direct[node] = bool(conn.execute(_DIRECT_SQL, (node,)).fetchone()[0])
            if direct[node]:
                return True
            for (parent,) in conn.execute(
                "SELECT d.depends_on FROM deps d JOIN beads p ON p.id=d.depends_on "
                "WHERE d.bead_id=? AND d.type='parent-child'",
                (node,),
            ):
                if parent not in seen:
                    seen.add(parent)
                    nxt.append(parent)
        if not nxt:
            return False
        frontier = nxt
    return False


def status_changed(conn: Conn, bead_id: str, old: str | None, new: str) -> None:
    """A bead's status moved: its `blocks` dependents may have (un)blocked."""
    if old is not None and is_unblocking(old) == is_unblocking(new):
        return
    dependents = [
        r[0]
        for r in conn.execute(
            "SELECT bead_id FROM deps WHERE depends_on=? AND type='blocks'", (bead_id,)
        )
    ]
    if dependents:
        refresh_blocked(conn, dependents)


def refresh_defer(conn: Conn, ids: Iterable[str]) -> None:
    """defer_chain = the latest defer_until of a bead and all its parent-child ancestors."""
    queue = deque(ids)
    visits: dict[str, int] = {}
    while queue:
        bid = queue.popleft()
        visits[bid] = visits.get(bid, 0) + 1
        if visits[bid] > 8:
            continue
        row = conn.execute(
            "SELECT defer_until, defer_chain FROM beads WHERE id=?", (bid,)
        ).fetchone()
        if row is None:
            continue
        best = epoch_or_none(row[0])
        for (p,) in conn.execute(
            "SELECT p.defer_chain FROM deps d JOIN beads p ON p.id=d.depends_on "
            "WHERE d.bead_id=? AND d.type='parent-child'",
            (bid,),
        ):
            if p is not None and (best is None or p > best):
                best = p
        if best != row[1]:
            conn.execute("UPDATE beads SET defer_chain=? WHERE id=?", (best, bid))
            queue.extend(
                r[0]
                for r in conn.execute(
                    "SELECT bead_id FROM deps WHERE depends_on=? AND type='parent-child'",
                    (bid,),
                )
            )


def recompute_all(conn: Conn) -> None:
    """Readiness for the whole ledger at once (after a bulk import), depth-limited as Beads."""
    direct = {
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT d.bead_id FROM deps d JOIN beads t ON t.id=d.depends_on "
            f"WHERE d.type='blocks' AND t.status NOT IN {UNBLOCKING_SQL}"
        )
    }
    children: dict[str, list[str]] = {}
    for child, parent in conn.execute(
        "SELECT bead_id, depends_on FROM deps WHERE type='parent-child'"
    ):
        children.setdefault(parent, []).append(child)
    blocked: dict[str, int] = {b: 0 for b in direct}
    queue = deque((b, 0) for b in direct)
    while queue:
        node, depth = queue.popleft()
        if depth >= MAX_PARENT_DEPTH:
            continue
        for c in children.get(node, ()):
            if c not in blocked or blocked[c] > depth + 1:
                blocked[c] = depth + 1
                queue.append((c, depth + 1))
    conn.execute("UPDATE beads SET blocked=0 WHERE blocked=1")
    conn.executemany("UPDATE beads SET blocked=1 WHERE id=?", ((b,) for b in blocked))
    # defer chains: only beads with a defer_until and their descendants can have one
    conn.execute("UPDATE beads SET defer_chain=NULL WHERE defer_chain IS NOT NULL")
    roots = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM beads WHERE defer_until IS NOT NULL AND defer_until != ''"
        )
    ]
    if roots:
        refresh_defer(conn, roots)


def epoch_or_none(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        return None
