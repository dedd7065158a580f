"""Beads: create, update, and every status change, each with its history event.

The reads (lists, readiness, dispatch candidates) are in bead_queries.py.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.errors import Conflict, NotFound, UsageError
from engine.ledger.bead_queries import BeadQueries
from engine.ledger.graph import record_event
from engine.timeutil import iso, parse_iso

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from engine.ledger import Ledger
    from engine.ledger.db import Conn
    from engine.records import Bead, StatusChange

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
# Where id randomness comes from; tests (snapshots) swap in a seeded source.
random_bytes = os.urandom


def check_priority(value: object) -> int:
    try:
        p = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise UsageError(f"priority must be a number 0-4 (0 is highest), got {value!r}") from None
    if str(p) != str(value).strip() and not isinstance(value, int):
        raise UsageError(f"priority must be a number 0-4 (0 is highest), got {value!r}")
    if not vocab.MIN_PRIORITY <= p <= vocab.MAX_PRIORITY:
        raise UsageError(f"priority must be 0-4 (0 is highest), got {p}")
    return p


def check_type(value: str) -> str:
    if value not in vocab.TYPES:
        raise UsageError(f"unknown bead type {value!r} (one of {', '.join(vocab.TYPES)})")
    return value


def check_defer(value: str | None) -> str | None:
    if value:
        try:
            parse_iso(value)
        except ValueError:
            raise UsageError(f"defer_until must be an ISO-8601 time, got {value!r}") from None
    return value


def check_title(value: str) -> str:
    title = value.strip()
    if not title:
        raise UsageError("a bead needs a non-empty title")
    if "\n" in title or "\r" in title:
        raise UsageError("a title is one line; put the rest in the body")
    return title


def _base36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return "".join(out)


class BeadStore(BeadQueries):
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    # ---- ids -----------------------------------------------------------------------------

    def new_id(self, conn: Conn, prefix: str) -> str:
        """`<prefix>-<base36>`: four characters, longer only when collisions say so."""
        width = 4
        for tries in range(64):
            if tries and tries % 4 == 0:
                width += 1
            candidate = f"{prefix}-{_base36(int.from_bytes(random_bytes(8), 'big'), width)}"
            if not conn.execute("SELECT 1 FROM beads WHERE id=?", (candidate,)).fetchone():
                return candidate
        raise Conflict(f"could not find a free id with prefix {prefix}")  # pragma: no cover

    def prefix_of_rig(self, conn: Conn, rig: str | None) -> str:
        if rig is None:
            return vocab.TOWN_PREFIX
        row = conn.execute("SELECT prefix FROM rigs WHERE name=?", (rig,)).fetchone()
        if row is None:
            known = [r[0] for r in conn.execute("SELECT name FROM rigs ORDER BY name")]
            raise NotFound(
                f"no rig {rig!r}"
                + (f" (rigs: {', '.join(known)})" if known else " (add one with `gt rig add`)")
            )
        return str(row[0])

    # ---- create / read -------------------------------------------------------------------

    def create(
        self,
        title: str,
        *,
        rig: str | None = None,
        bead_type: str = "task",
        priority: int = vocab.DEFAULT_PRIORITY,
        body: str = "",
        labels: Sequence[str] = (),
        deps: Sequence[tuple[str, str]] = (),
        metadata: dict[str, Any] | None = None,
        created_by: str | None = None,
        slung: bool = False,
        status: str = vocab.OPEN,
        assignee: str | None = None,
        defer_until: str | None = None,
        durable: bool = False,
        runtime: str | None = None,
    ) -> Bead:
        title = check_title(title)
        priority = check_priority(priority)
        check_type(bead_type)
        check_defer(defer_until)
        with self.db.write(durable=durable):
            bead_id = self.insert(
                title=title,
                rig=rig,
                bead_type=bead_type,
                priority=priority,
                body=body,
                labels=labels,
                metadata=metadata,
                created_by=created_by,
                slung=slung,
                status=status,
                assignee=assignee,
                defer_until=defer_until,
                runtime=runtime,
            )
            graph = self.ledger.graph
            for target, dep_type in deps:
                graph.add(bead_id, target, dep_type, actor=created_by)
            return self.require(bead_id)

    def insert(
        self,
        *,
        title: str,
        rig: str | None,
        bead_type: str,
        priority: int,
        body: str = "",
        labels: Iterable[str] = (),
        metadata: dict[str, Any] | None = None,
        created_by: str | None = None,
        slung: bool = False,
        status: str = vocab.OPEN,
        assignee: str | None = None,
        defer_until: str | None = None,
        bead_id: str | None = None,
        runtime: str | None = None,
    ) -> str:
        """Insert inside the caller's write transaction; returns the new id."""
        conn = self.db.conn
        prefix = self.prefix_of_rig(conn, rig)
        bead_id = bead_id or self.new_id(conn, prefix)
        now = iso(self.ledger.now())
        label_list = sorted({lbl.strip() for lbl in labels if lbl.strip()})
        conn.execute(
            "INSERT INTO beads(id, rig, type, status, priority, title, body, labels, metadata,"
            " assignee, created_by, created_at, updated_at, slung, defer_until, runtime, seq) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, (SELECT coalesce(max(seq),0)+1 FROM beads))",
            (
                bead_id,
                rig,
                bead_type,
                status,
                priority,
                title,
                body,
                json.dumps(label_list),
                json.dumps(metadata or {}),
                assignee,
                created_by,
                now,
                now,
                int(slung),
                defer_until,
                runtime,
            ),
        )
        conn.executemany(
            "INSERT INTO labels(bead_id, label) VALUES (?,?)",
            ((bead_id, lbl) for lbl in label_list),
        )
        record_event(
            conn,
            bead_id,
            "created",
            created_by,
            now,
            {"title": title, "type": bead_type, "priority": priority, "rig": rig},
        )
        graph = self.ledger.graph
        # Beads that named this id before it existed (imports) now see a real blocker.
        dangling = [
            r[0]
            for r in conn.execute(
                "SELECT bead_id FROM deps WHERE depends_on=? AND type IN ('blocks','parent-child')",
                (bead_id,),
            )
        ]
        if dangling:
            graph.refresh_blocked(conn, dangling)
        if defer_until:
            graph.refresh_defer(conn, [bead_id])
        return bead_id

    # ---- update --------------------------------------------------------------------------

    def update(
        self,
        bead_id: str,
        *,
        actor: str | None = None,
        title: str | None = None,
        priority: int | None = None,
        body: str | None = None,
        bead_type: str | None = None,
        add_labels: Sequence[str] = (),
        remove_labels: Sequence[str] = (),
        metadata: dict[str, Any] | None = None,
        rig: str | None = None,
        defer_until: str | None = None,
        assignee: str | None = None,
        runtime: str | None = None,  # "" clears it
    ) -> Bead:
        changes: dict[str, Any] = {}  # column -> new value, as written
        with self.db.write() as conn:
            cur = self.require(bead_id)
            if runtime is not None:
                changes["runtime"] = runtime or None
            if title is not None:
                changes["title"] = check_title(title)
            if priority is not None:
                changes["priority"] = check_priority(priority)
            if body is not None:
                changes["body"] = body
            if bead_type is not None:
                changes["type"] = check_type(bead_type)
            if rig is not None:
                self.prefix_of_rig(conn, rig)
                changes["rig"] = rig
            if assignee is not None:
                changes["assignee"] = assignee or None
            if defer_until is not None:
                changes["defer_until"] = check_defer(defer_until) or None
            if add_labels or remove_labels:
                labels = (set(cur["labels"]) | {x.strip() for x in add_labels if x.strip()}) - set(
                    remove_labels
                )
                changes["labels"] = sorted(labels)
            if metadata:
                changes["metadata"] = {**cur["metadata"], **metadata}
            changes = {k: v for k, v in changes.items() if cur.get(k) != v}
            if not changes:
                return cur
            now = iso(self.ledger.now())
            cols = ", ".join(f"{k}=?" for k in changes)
            vals = [json.dumps(v) if k in ("labels", "metadata") else v for k, v in changes.items()]
            conn.execute(f"UPDATE beads SET {cols}, updated_at=? WHERE id=?", (*vals, now, bead_id))
            if "labels" in changes:
                conn.execute("DELETE FROM labels WHERE bead_id=?", (bead_id,))
                conn.executemany(
                    "INSERT INTO labels(bead_id, label) VALUES (?,?)",
                    ((bead_id, lbl) for lbl in changes["labels"]),
                )
            if "defer_until" in changes:
                self.ledger.graph.refresh_defer(conn, [bead_id])
            record_event(
                conn,
                bead_id,
                "updated",
                actor,
                now,
                {k: [cur.get(k), v] for k, v in changes.items()},
            )
            return self.require(bead_id)

    # ---- status --------------------------------------------------------------------------

    def set_status(
        self,
        bead_id: str,
        new: str,
        *,
        actor: str | None,
        kind: str,
        data: dict[str, Any] | None = None,
        fields: dict[str, Any] | None = None,
    ) -> StatusChange:
        """Every status change goes through here: readiness, agents and convoys follow."""
        conn = self.db.conn
        row = conn.execute("SELECT status FROM beads WHERE id=?", (bead_id,)).fetchone()
        if row is None:
            raise NotFound(self._missing(bead_id))
        old = row[0]
        now_epoch = self.ledger.now()
        now = iso(now_epoch)
        sets = {"status": new, "updated_at": now, **(fields or {})}
        if new in (vocab.CLOSED, vocab.FAILED, vocab.CANCELLED) and "closed_at" not in sets:
            sets["closed_at"] = now
        cols = ", ".join(f"{k}=?" for k in sets)
        conn.execute(f"UPDATE beads SET {cols} WHERE id=?", (*sets.values(), bead_id))
        record_event(conn, bead_id, kind, actor, now, {"from": old, "to": new, **(data or {})})
        self.ledger.graph.status_changed(conn, bead_id, old, new)
        if new in vocab.FINAL_STATUSES:
            self.ledger.agents.release_hooked_to(bead_id, reason=f"bead {new}")
        self.ledger.convoys.bead_status_changed(conn, bead_id, new)
        return {"id": bead_id, "from": old, "to": new}

    def close(self, bead_id: str, *, reason: str | None = None, actor: str | None = None) -> Bead:
        with self.db.write(durable=True):
            cur = self.require(bead_id)
            if cur["status"] == vocab.CLOSED:
                raise Conflict(f"{bead_id} is already closed")
            self.set_status(
                bead_id,
                vocab.CLOSED,
                actor=actor,
                kind="closed",
                data={"reason": reason},
                fields={"close_reason": reason},
            )
            return self.require(bead_id)

    def cancel(self, bead_id: str, *, reason: str | None = None, actor: str | None = None) -> Bead:
        with self.db.write(durable=True):
            cur = self.require(bead_id)
            if cur["status"] in vocab.FINAL_STATUSES:
                raise Conflict(f"{bead_id} is already {cur['status']}")
            self.set_status(
                bead_id,
                vocab.CANCELLED,
                actor=actor,
                kind="cancelled",
                data={"reason": reason},
                fields={"close_reason": reason or "cancelled"},
            )
            return self.require(bead_id)

    def reopen(self, bead_id: str, *, actor: str | None = None) -> Bead:
        with self.db.write(durable=True):
            cur = self.require(bead_id)
            if cur["status"] == vocab.OPEN:
                raise Conflict(f"{bead_id} is already open")
            if cur["status"] not in vocab.FINAL_STATUSES and cur["status"] != "pinned":
                raise Conflict(
                    f"{bead_id} is {cur['status']}; only a closed, failed or "
                    f"cancelled bead can be reopened"
                )
            # Back to the backlog: a reopened bead waits to be slung again.
            self.set_status(
                bead_id,
                vocab.OPEN,
                actor=actor,
                kind="reopened",
                fields={
                    "closed_at": None,
                    "close_reason": None,
                    "assignee": None,
                    "slung": 0,
                    "failures": 0,
                    "not_before": 0,
                    "last_error": None,
                },
            )
            return self.require(bead_id)

    # ---- scheduling ----------------------------------------------------------------------

    def set_slung(self, bead_id: str, *, actor: str | None) -> bool:
        conn = self.db.conn
        now = iso(self.ledger.now())
        cur = conn.execute(
            "UPDATE beads SET slung=1, updated_at=? WHERE id=? AND slung=0", (now, bead_id)
        )
        if cur.rowcount:
            record_event(conn, bead_id, "slung", actor, now, {})
        return bool(cur.rowcount)
