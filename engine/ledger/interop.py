"""Bulk import and export of Beads records (the SQL side of `gt import` / `gt export`).

Import is an upsert in one transaction: new beads are inserted, changed ones updated,
identical ones left alone (so re-importing the same file changes nothing), and readiness
is recomputed once for the whole ledger at the end. It never clobbers live state: the
newer record wins by `updated_at`, and live work (hooked, in progress, in review) is never
changed by an import (each such record is reported as skipped, with the reason).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.ledger.graph import record_event
from engine.ledger.readiness import epoch_or_none
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
    ) -> dict[str, Any]:
        """Upsert beads and dependencies. `rig`: put every bead in this rig; else route by
        id prefix (town-level when no rig owns the prefix).

        A record never overwrites live work (hooked, in progress, in review, or held by an
        agent) nor a ledger copy newer than itself; such records are skipped, each with its
        reason in ``skipped_beads``. For every record that is applied (or already equal),
        the bead's own dependencies follow the file: edges the file no longer has are removed.
        """
        stats: dict[str, Any] = {
            "created": 0,
            "updated": 0,
            "unchanged": 0,
            "deps_added": 0,
            "deps_removed": 0,
        }
        skipped: list[dict[str, str]] = []
        with self.db.write(durable=True) as conn:
            rigs = self.ledger.rigs
            if rig is not None:
                rigs.require(rig)
            prefixes = {r["prefix"]: r["name"] for r in rigs.list()}
            now = iso(self.ledger.now())
            seq = int(conn.execute("SELECT coalesce(max(seq),0) FROM beads").fetchone()[0])
            cols = ", ".join(_COLUMNS)
            marks = ",".join("?" for _ in _COLUMNS)
            holders = {
                r[0]: r[1]
                for r in conn.execute(
                    "SELECT hook, name FROM agents WHERE hook IS NOT NULL AND status != 'retired'"
                )
            }
            held_by_file: list[str] = []  # records whose dependencies follow the file
            kept: set[str] = set()  # records whose ledger copy stays, dependencies included
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
                elif tuple(cur) == values:
                    stats["unchanged"] += 1
                    # equal rows have equal ages: only liveness can keep the ledger's copy
                    why = _keep_reason(cur, values, holders.get(bead["id"]))
                    if why:
                        # live work keeps its edges too; say so only if the file's differ
                        kept.add(bead["id"])
                        if _edges(conn, bead["id"]) != _file_edges(deps, bead["id"]):
                            skipped.append({"id": bead["id"], "reason": why})
                    else:
                        held_by_file.append(bead["id"])
                    continue
                else:
                    why = _keep_reason(cur, values, holders.get(bead["id"]))
                    if why:
                        skipped.append({"id": bead["id"], "reason": why})
                        kept.add(bead["id"])
                        continue
                    sets = ", ".join(f"{c}=?" for c in _COLUMNS)
                    conn.execute(f"UPDATE beads SET {sets} WHERE id=?", (*values, bead["id"]))
                    stats["updated"] += 1
                    kind = "import_updated"
                held_by_file.append(bead["id"])
                conn.execute("DELETE FROM labels WHERE bead_id=?", (bead["id"],))
                conn.executemany(
                    "INSERT INTO labels(bead_id, label) VALUES (?,?) ON CONFLICT DO NOTHING",
                    ((bead["id"], lbl) for lbl in set(bead["labels"])),
                )
                record_event(conn, bead["id"], kind, actor, now, {"status": bead["status"]})
            stats["deps_removed"] = self._drop_deps_gone_from_file(
                conn, held_by_file, deps, actor, now
            )
            dseq = int(conn.execute("SELECT coalesce(max(seq),0) FROM deps").fetchone()[0])
            for dep in deps:
                if dep["bead_id"] in kept:
                    continue  # the ledger's copy of that bead is newer or live: so are its edges
                dseq += 1
                cur = conn.execute(
                    "INSERT INTO deps(bead_id, depends_on, type, created_at, "
                    "created_by, extra, seq) VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
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
            if stats["created"] or stats["updated"] or stats["deps_added"] or stats["deps_removed"]:
                self.ledger.graph.recompute_all(conn)
        stats["skipped_beads"] = skipped
        return stats

    def _drop_deps_gone_from_file(
        self,
        conn: Any,
        bead_ids: list[str],
        deps: list[dict[str, Any]],
        actor: str | None,
        now: str,
    ) -> int:
        """Remove the edges of these beads that the file no longer lists; returns how many."""
        wanted: dict[str, set[tuple[str, str]]] = {}
        for dep in deps:
            wanted.setdefault(dep["bead_id"], set()).add((dep["depends_on"], dep["type"]))
        removed = 0
        for bid in bead_ids:
            keep = wanted.get(bid, set())
            for depends_on, dep_type in conn.execute(
                "SELECT depends_on, type FROM deps WHERE bead_id=?", (bid,)
            ).fetchall():
                if (depends_on, dep_type) in keep:
                    continue
                conn.execute(
                    "DELETE FROM deps WHERE bead_id=? AND depends_on=? AND type=?",
                    (bid, depends_on, dep_type),
                )
                record_event(
                    conn,
                    bid,
                    "dep_removed",
                    actor,
                    now,
                    {"depends_on": depends_on, "type": dep_type, "by": "import"},
                )
                removed += 1
        return removed

    def export_records(
        self, *, rig: str | None = None
    ) -> tuple[Iterator[dict[str, Any]], list[dict[str, Any]]]:
        """(beads, deps) in the shape engine.beads_jsonl writes; town records included."""
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


_STATUS = _COLUMNS.index("status")
_ASSIGNEE = _COLUMNS.index("assignee")
_UPDATED = _COLUMNS.index("updated_at")
_LIVE = (vocab.HOOKED, vocab.IN_PROGRESS, vocab.IN_REVIEW)


def _keep_reason(cur: Any, values: tuple[Any, ...], holder: str | None) -> str | None:
    """Why the ledger's copy of a bead must stay as it is, or None when the file may win."""
    status = cur[_STATUS]
    if status in _LIVE or holder:
        who = holder or (cur[_ASSIGNEE] or "").rsplit("/", 1)[-1]
        return (
            f"it is {status}" + (f" by {who}" if who else "") + "; import never changes live work"
        )
    ours, theirs = cur[_UPDATED], values[_UPDATED]
    if _newer(ours, theirs):
        return f"the ledger's copy is newer (updated {ours}; the file's record " + (
            f"{theirs})" if theirs else "has no updated_at)"
        )
    return None


def _newer(ours: str, theirs: str) -> bool:
    """Is the ledger's timestamp later than the file's? A copy without a readable time has
    no age: the file wins over it, and it never wins over one that has a time."""
    mine, other = epoch_or_none(ours), epoch_or_none(theirs)
    if mine is None:
        return False
    if other is None:
        return True
    return mine > other


def _edges(conn: Any, bead_id: str) -> set[tuple[str, str]]:
    return {
        (r[0], r[1])
        for r in conn.execute("SELECT depends_on, type FROM deps WHERE bead_id=?", (bead_id,))
    }


def _file_edges(deps: list[dict[str, Any]], bead_id: str) -> set[tuple[str, str]]:
    return {(d["depends_on"], d["type"]) for d in deps if d["bead_id"] == bead_id}
