"""Bulk import and export of Beads records (the SQL side of `gt import` / `gt export`).

Import is an upsert in one transaction: new beads are inserted, changed ones updated,
identical ones left alone (so re-importing the same file changes nothing), and readiness
is recomputed once for the whole ledger at the end.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from collections.abc import Iterator

    from engine.ledger import Ledger

_COLUMNS = (
    "rig",
    "type",
    "status",
    "priority",
    "title",
    "body",
    "labels",
    "metadata",
    "extra",
    "assignee",
    "created_by",
    "created_at",
    "updated_at",
    "closed_at",
    "close_reason",
    "defer_until",
    "ephemeral",
)


def _row_values(bead: dict[str, Any], rig: str | None) -> tuple[Any, ...]:
    # A bead imported without timestamps keeps none ('' sorts first, and re-importing the
    # same file must compare equal); export turns '' back into absent.
    return (
        rig,
        bead["type"],
        bead["status"],
        bead["priority"],
        bead["title"],
        bead["body"],
        json.dumps(sorted(set(bead["labels"]))),
        json.dumps(bead["metadata"]),
        json.dumps(bead["extra"]),
        bead["assignee"],
        bead["created_by"],
        bead["created_at"] or "",
        bead["updated_at"] or "",
        bead["closed_at"],
        bead["close_reason"],
        bead["defer_until"],
        int(bool(bead["ephemeral"])),
    )


class InteropStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    def import_records(
        self,
        beads: list[dict[str, Any]],
        deps: list[dict[str, Any]],
        *,
        rig: str | None = None,
        actor: str | None = None,
    ) -> dict[str, int]:
        """Upsert beads and dependencies. `rig`: put every bead in this rig; else route by
        id prefix (town-level when no rig owns the prefix)."""
        stats = {"created": 0, "updated": 0, "unchanged": 0, "deps_added": 0}
        with self.db.write(durable=True) as conn:
            rigs = self.ledger.rigs
            if rig is not None:
                rigs.require(rig)
            prefixes = {r["prefix"]: r["name"] for r in rigs.list()}
            now = iso(self.ledger.now())
            seq = int(conn.execute("SELECT coalesce(max(seq),0) FROM beads").fetchone()[0])
            cols = ", ".join(_COLUMNS)
            marks = ",".join("?" for _ in _COLUMNS)
            for bead in beads:
                target_rig = rig if rig is not None else _route(bead["id"], prefixes)
                values = _row_values(bead, target_rig)
                cur = conn.execute(f"SELECT {cols} FROM beads WHERE id=?", (bead["id"],)).fetchone()
                if cur is None:
                    seq += 1
                    conn.execute(
                        f"INSERT INTO beads(id, {cols}, seq) VALUES (?, {marks}, ?)",
                        (bead["id"], *values, seq),
                    )
                    stats["created"] += 1
                    kind = "imported"
                elif tuple(cur) != values:
                    sets = ", ".join(f"{c}=?" for c in _COLUMNS)
                    conn.execute(f"UPDATE beads SET {sets} WHERE id=?", (*values, bead["id"]))
                    stats["updated"] += 1
                    kind = "import_updated"
                else:
                    stats["unchanged"] += 1
                    continue
                conn.execute("DELETE FROM labels WHERE bead_id=?", (bead["id"],))
                conn.executemany(
                    "INSERT OR IGNORE INTO labels(bead_id, label) VALUES (?,?)",
                    ((bead["id"], lbl) for lbl in set(bead["labels"])),
                )
                record_event(conn, bead["id"], kind, actor, now, {"status": bead["status"]})
            dseq = int(conn.execute("SELECT coalesce(max(seq),0) FROM deps").fetchone()[0])
            for dep in deps:
                dseq += 1
                cur = conn.execute(
                    "INSERT OR IGNORE INTO deps(bead_id, depends_on, type, created_at, "
                    "created_by, extra, seq) VALUES (?,?,?,?,?,?,?)",
                    (
                        dep["bead_id"],
                        dep["depends_on"],
                        dep["type"],
                        dep.get("created_at"),
                        dep.get("created_by"),
                        json.dumps(dep.get("extra") or {}),
                        dseq,
                    ),
                )
                stats["deps_added"] += cur.rowcount
            if stats["created"] or stats["updated"] or stats["deps_added"]:
                self.ledger.graph.recompute_all(conn)
        return stats

    def export_records(
        self, *, rig: str | None = None
    ) -> tuple[Iterator[dict[str, Any]], list[dict[str, Any]]]:
        """(beads, deps) in the shape engine.interop writes; town records included."""
        conn = self.db.conn
        sql = "SELECT * FROM beads"
        args: tuple[Any, ...] = ()
        if rig:
            sql += " WHERE rig=?"
            args = (rig,)
        bead_rows = conn.execute(sql + " ORDER BY seq", args).fetchall()
        ids = {r["id"] for r in bead_rows}
        deps = []
        for r in conn.execute("SELECT * FROM deps ORDER BY seq"):
            if rig and r["bead_id"] not in ids:
                continue
            deps.append(
                {
                    "bead_id": r["bead_id"],
                    "depends_on": r["depends_on"],
                    "type": r["type"],
                    "created_at": r["created_at"],
                    "created_by": r["created_by"],
                    "extra": json.loads(r["extra"]),
                }
            )

        def beads() -> Iterator[dict[str, Any]]:
            for r in bead_rows:
                yield {
                    "id": r["id"],
                    "title": r["title"],
                    "body": r["body"],
                    "status": r["status"],
                    "priority": r["priority"],
                    "type": r["type"],
                    "assignee": r["assignee"],
                    "labels": json.loads(r["labels"]),
                    "created_at": r["created_at"] or None,
                    "updated_at": r["updated_at"] or None,
                    "closed_at": r["closed_at"],
                    "close_reason": r["close_reason"],
                    "created_by": r["created_by"],
                    "defer_until": r["defer_until"],
                    "ephemeral": bool(r["ephemeral"]),
                    "metadata": json.loads(r["metadata"]),
                    "extra": json.loads(r["extra"]),
                }

        return beads(), deps


def _route(bead_id: str, prefixes: dict[str, str]) -> str | None:
    best = None
    for prefix, name in prefixes.items():
        if bead_id.startswith(prefix + "-") and (best is None or len(prefix) > len(best[0])):
            best = (prefix, name)
    return best[1] if best else None
