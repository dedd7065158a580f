"""Dependencies between beads, cycle refusal, and readiness kept up to date incrementally.

Readiness (Beads' rule, shared/data/README.md): a bead is *blocked* when a `blocks`
dependency points at an existing bead whose status is not closed/pinned/tombstone, or when
its parent (the target of its `parent-child` edge) is blocked. Rather than re-scanning the
whole graph on each write (the original Beads took seconds per close that way), the
`blocked` column is maintained incrementally (readiness.py holds that rule; the store
delegates to it).
"""

from __future__ import annotations

import json
from collections import deque
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.errors import Conflict, NotFound, UsageError
from engine.ledger import readiness
from engine.ledger.readiness import UNBLOCKING_SQL
from engine.timeutil import iso

if TYPE_CHECKING:
    from collections.abc import Iterable

    from engine.ledger import Ledger
    from engine.ledger.db import Conn
    from engine.records import Blocker, DepAdded, Edge, TreeNode


class GraphStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    # ---- edges -------------------------------------------------------------------------

    def add(
        self,
        bead_id: str,
        depends_on: str,
        dep_type: str = vocab.BLOCKS,
        *,
        actor: str | None = None,
    ) -> DepAdded:
        if dep_type not in vocab.DEP_TYPES:
            raise UsageError(
                f"unknown dependency type {dep_type!r} (one of {', '.join(vocab.DEP_TYPES)})"
            )
        if bead_id == depends_on:
            raise Conflict(f"{bead_id} cannot depend on itself")
        with self.db.write() as conn:
            for bid in (bead_id, depends_on):
                if bid == depends_on and bid.startswith("external:"):
                    continue
                if not conn.execute("SELECT 1 FROM beads WHERE id=?", (bid,)).fetchone():
                    raise NotFound(self.ledger.beads.missing(bid))
            if conn.execute(
                "SELECT 1 FROM deps WHERE bead_id=? AND depends_on=? AND type=?",
                (bead_id, depends_on, dep_type),
            ).fetchone():
                raise Conflict(f"{bead_id} already depends on {depends_on} ({dep_type})")
            if dep_type in vocab.READINESS_DEP_TYPES:
                cycle = self.find_path(depends_on, bead_id)
                if cycle:
                    raise Conflict("that would make a cycle: " + " → ".join([bead_id, *cycle]))
            now = iso(self.ledger.now())
            self._insert(conn, bead_id, depends_on, dep_type, now, actor, {})
            # An edge is part of its bead: a re-import of an older export must see it as newer.
            conn.execute("UPDATE beads SET updated_at=? WHERE id=?", (now, bead_id))
            record_event(
                conn, bead_id, "dep_added", actor, now, {"depends_on": depends_on, "type": dep_type}
            )
            if dep_type in vocab.READINESS_DEP_TYPES:
                self.refresh_blocked(conn, [bead_id])
                if dep_type == vocab.PARENT_CHILD:
                    self.refresh_defer(conn, [bead_id])
        return {"bead_id": bead_id, "depends_on": depends_on, "type": dep_type}

    def _insert(
        self,
        conn: Conn,
        bead_id: str,
        depends_on: str,
        dep_type: str,
        at: str | None,
        actor: str | None,
        extra: dict[str, Any],
    ) -> None:
        conn.execute(
            "INSERT INTO deps(bead_id, depends_on, type, created_at, created_by, extra, seq) "
            "VALUES (?,?,?,?,?,?, (SELECT coalesce(max(seq),0)+1 FROM deps))",
            (bead_id, depends_on, dep_type, at, actor, json.dumps(extra)),
        )

    def remove(
        self,
        bead_id: str,
        depends_on: str,
        dep_type: str | None = None,
        *,
        actor: str | None = None,
    ) -> int:
        with self.db.write() as conn:
            if dep_type:
                cur = conn.execute(
                    "DELETE FROM deps WHERE bead_id=? AND depends_on=? AND type=?",
                    (bead_id, depends_on, dep_type),
                )
            else:
                cur = conn.execute(
                    "DELETE FROM deps WHERE bead_id=? AND depends_on=?", (bead_id, depends_on)
                )
            if not cur.rowcount:
                raise NotFound(
                    f"{bead_id} does not depend on {depends_on}"
                    + (f" ({dep_type})" if dep_type else "")
                )
            now = iso(self.ledger.now())
            conn.execute("UPDATE beads SET updated_at=? WHERE id=?", (now, bead_id))
            record_event(
                conn,
                bead_id,
                "dep_removed",
                actor,
                now,
                {"depends_on": depends_on, "type": dep_type},
            )
            self.refresh_blocked(conn, [bead_id])
            self.refresh_defer(conn, [bead_id])
            return cur.rowcount

    def find_path(
        self, start: str, goal: str, extra_edges: dict[str, list[str]] | None = None
    ) -> list[str] | None:
        """A path start → … → goal along readiness edges (bead → what it depends on)."""
        conn = self.db.conn
        parent: dict[str, str | None] = {start: None}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if node == goal:
                path = [node]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])  # type: ignore[arg-type]
                return list(reversed(path))
            nxt = [
                r[0]
                for r in conn.execute(
                    "SELECT depends_on FROM deps WHERE bead_id=? "
                    "AND type IN ('blocks','parent-child')",
                    (node,),
                )
            ]
            if extra_edges:
                nxt.extend(extra_edges.get(node, ()))
            for n in nxt:
                if n not in parent:
                    parent[n] = node
                    queue.append(n)
        return None

    def edges_of(self, bead_id: str) -> dict[str, list[Edge]]:
        """Dependencies both ways, each with the other bead's title and status."""
        conn = self.db.conn
        out: list[Edge] = [
            {"id": r["depends_on"], "type": r["type"], "title": r["title"], "status": r["status"]}
            for r in conn.execute(
                "SELECT d.depends_on, d.type, b.title, b.status FROM deps d "
                "LEFT JOIN beads b ON b.id = d.depends_on WHERE d.bead_id=? ORDER BY d.seq",
                (bead_id,),
            )
        ]
        inc: list[Edge] = [
            {"id": r["bead_id"], "type": r["type"], "title": r["title"], "status": r["status"]}
            for r in conn.execute(
                "SELECT d.bead_id, d.type, b.title, b.status FROM deps d "
                "LEFT JOIN beads b ON b.id = d.bead_id WHERE d.depends_on=? ORDER BY d.seq",
                (bead_id,),
            )
        ]
        return {"depends_on": out, "dependents": inc}

    def blockers(self, bead_id: str) -> list[Blocker]:
        """What keeps a bead blocked: open blockers, and a blocked parent."""
        conn = self.db.conn
        rows = conn.execute(
            f"SELECT t.id, t.title, t.status, d.type FROM deps d JOIN beads t ON t.id=d.depends_on "
            f"WHERE d.bead_id=? AND ((d.type='blocks' AND t.status NOT IN {UNBLOCKING_SQL}) "
            f"OR (d.type='parent-child' AND t.blocked=1)) ORDER BY d.seq",
            (bead_id,),
        )
        return [{"id": r[0], "title": r[1], "status": r[2], "type": r[3]} for r in rows]

    def tree(self, bead_id: str, *, reverse: bool = False, max_depth: int = 20) -> TreeNode:
        """What a bead depends on (or, reversed, what depends on it), as a nested tree."""
        conn = self.db.conn
        root = conn.execute("SELECT id, title, status FROM beads WHERE id=?", (bead_id,)).fetchone()
        if root is None:
            raise NotFound(self.ledger.beads.missing(bead_id))
        if reverse:
            q = (
                "SELECT d.bead_id, d.type, b.title, b.status FROM deps d "
                "LEFT JOIN beads b ON b.id=d.bead_id WHERE d.depends_on=? ORDER BY d.seq"
            )
        else:
            q = (
                "SELECT d.depends_on, d.type, b.title, b.status FROM deps d "
                "LEFT JOIN beads b ON b.id=d.depends_on WHERE d.bead_id=? ORDER BY d.seq"
            )

        def build(
            node_id: str,
            title: str | None,
            status: str | None,
            dtype: str | None,
            depth: int,
            seen: frozenset[str],
        ) -> TreeNode:
            node: TreeNode = {
                "id": node_id,
                "title": title,
                "status": status,
                "type": dtype,
                "children": [],
            }
            if node_id in seen:
                node["repeat"] = True
                return node
            if depth >= max_depth:
                node["truncated"] = True
                return node
            for r in conn.execute(q, (node_id,)).fetchall():
                node["children"].append(build(r[0], r[2], r[3], r[1], depth + 1, seen | {node_id}))
            return node

        return build(root["id"], root["title"], root["status"], None, 0, frozenset())

    # ---- readiness maintenance (readiness.py) ---------------------------------------------

    def refresh_blocked(self, conn: Conn, ids: Iterable[str]) -> int:
        return readiness.refresh_blocked(conn, ids)

    def status_changed(self, conn: Conn, bead_id: str, old: str | None, new: str) -> None:
        readiness.status_changed(conn, bead_id, old, new)

    def refresh_defer(self, conn: Conn, ids: Iterable[str]) -> None:
        readiness.refresh_defer(conn, ids)

    def recompute_all(self, conn: Conn) -> None:
        readiness.recompute_all(conn)


def record_event(
    conn: Conn,
    bead_id: str | None,
    kind: str,
    actor: str | None,
    at: str,
    data: dict[str, Any] | None = None,
    attempt: int | None = None,
) -> None:
    """Append one event; its kind must be registered in engine/events/."""
    # Imported here, not at the top: reads (`gt bead show`, `gt ready`) never pay for it.
    from engine.events import check_kind

    check_kind(kind)
    conn.execute(
        "INSERT INTO events(at, bead_id, kind, actor, attempt, data) VALUES (?,?,?,?,?,?)",
        (at, bead_id, kind, actor, attempt, json.dumps(data or {})),
    )
