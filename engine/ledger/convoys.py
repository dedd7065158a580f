"""Convoys: bundles of beads tracked to completion ("landed" when all are closed)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.errors import Conflict, NotFound, UsageError
from engine.ledger import rows
from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from collections.abc import Sequence

    from engine.ledger import Ledger
    from engine.ledger.db import Conn
    from engine.records import (
        BlockedBead,
        CancelledConvoy,
        Convoy,
        ConvoyStatus,
        ListedConvoy,
        Progress,
    )


class ConvoyStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    def create(
        self, title: str, bead_ids: Sequence[str], *, staged: bool = False, actor: str | None = None
    ) -> Convoy:
        if not bead_ids:
            raise UsageError("a convoy needs at least one bead (--bead ID or --plan FILE)")
        with self.db.write(durable=True) as conn:
            for bid in bead_ids:
                self.ledger.beads.require(bid)
            return self._create(conn, title, list(dict.fromkeys(bead_ids)), staged, actor)

    def _create(
        self,
        conn: Conn,
        title: str,
        bead_ids: list[str],
        staged: bool,
        actor: str | None,
        bead_type: str = "convoy",
        metadata: dict[str, Any] | None = None,
    ) -> Convoy:
        beads = self.ledger.beads
        cid = beads.insert(
            title=title,
            rig=None,
            bead_type=bead_type,  # a molecule is tracked as a convoy is
            priority=2,
            metadata=metadata,
            created_by=actor,
            status=vocab.CONVOY_STAGED if staged else vocab.CONVOY_OPEN,
        )
        now = iso(self.ledger.now())
        conn.execute(
            "INSERT INTO convoys(bead_id, staged, launched_at) VALUES (?,?,?)",
            (cid, int(staged), None if staged else now),
        )
        graph = self.ledger.graph
        for bid in bead_ids:
            graph._insert(conn, cid, bid, vocab.TRACKS, now, actor, {})
        if not staged:
            self._sling(conn, bead_ids, actor)
        record_event(conn, cid, "convoy_created", actor, now, {"beads": bead_ids, "staged": staged})
        self._maybe_land(conn, cid)
        return self.require(cid)

    def create_planned(
        self,
        title: str,
        planned: list[dict[str, Any]],
        *,
        staged: bool,
        actor: str | None,
        bead_type: str = "convoy",
        metadata: dict[str, Any] | None = None,
    ) -> Convoy:
        """All or nothing: the plan's beads, their `needs`, and the convoy, in one transaction.

        `planned` items: {key, title, rig, priority, type, body, labels, runtime,
        needs: [key or id], metadata}. A poured formula is a convoy whose bead is a
        `molecule` (`bead_type`, `metadata`).
        Cycles and unknown references were refused by the caller before anything is written.
        """
        with self.db.write(durable=True) as conn:
            beads = self.ledger.beads
            ids: dict[str, str] = {}
            for item in planned:
                ids[item["key"]] = beads.insert(
                    title=item["title"],
                    rig=item.get("rig"),
                    bead_type=item.get("type", "task"),
                    priority=item.get("priority", vocab.DEFAULT_PRIORITY),
                    body=item.get("body", ""),
                    labels=item.get("labels", ()),
                    metadata=item.get("metadata"),
                    created_by=actor,
                    runtime=item.get("runtime"),
                )
            graph = self.ledger.graph
            now = iso(self.ledger.now())
            for item in planned:
                for need in item.get("needs", ()):
                    target = ids.get(need, need)
                    if not conn.execute("SELECT 1 FROM beads WHERE id=?", (target,)).fetchone():
                        raise NotFound(
                            f"plan bead {item['key']!r} needs {need!r}, "
                            f"which is neither a plan key nor a bead id"
                        )
                    graph._insert(conn, ids[item["key"]], target, vocab.BLOCKS, now, actor, {})
                    record_event(
                        conn,
                        ids[item["key"]],
                        "dep_added",
                        actor,
                        now,
                        {"depends_on": target, "type": vocab.BLOCKS},
                    )
            graph.refresh_blocked(conn, list(ids.values()))
            return self._create(conn, title, list(ids.values()), staged, actor, bead_type, metadata)

    def _sling(self, conn: Conn, bead_ids: Sequence[str], actor: str | None) -> None:
        now = iso(self.ledger.now())
        for bid in bead_ids:
            cur = conn.execute(
                "UPDATE beads SET slung=1, updated_at=? WHERE id=? AND slung=0 AND status='open'",
                (now, bid),
            )
            if cur.rowcount:
                record_event(conn, bid, "slung", actor, now, {})

    def get(self, convoy_id: str) -> Convoy | None:
        row = self.db.conn.execute(
            "SELECT b.*, c.staged AS c_staged, c.launched_at, c.landed_at FROM beads b "
            "JOIN convoys c ON c.bead_id=b.id WHERE b.id=?",
            (convoy_id,),
        ).fetchone()
        if row is None:
            return None
        d: Any = rows.bead(row)  # a Bead, made a Convoy below
        d["staged"] = bool(row["c_staged"])
        d["launched_at"] = row["launched_at"]
        d["landed_at"] = row["landed_at"]
        d["beads"] = self.tracked_ids(convoy_id)
        return d

    def require(self, convoy_id: str) -> Convoy:
        found = self.get(convoy_id)
        if found is None:
            if self.ledger.beads.get(convoy_id):
                raise NotFound(f"{convoy_id} is a bead, not a convoy")
            raise NotFound(f"no convoy {convoy_id} (see `gt convoy list`)")
        return found

    def tracked_ids(self, convoy_id: str) -> list[str]:
        return [
            r[0]
            for r in self.db.conn.execute(
                "SELECT depends_on FROM deps WHERE bead_id=? AND type='tracks' ORDER BY seq",
                (convoy_id,),
            )
        ]

    def list(self) -> builtins.list[ListedConvoy]:
        ids = [
            r[0]
            for r in self.db.conn.execute(
                "SELECT bead_id FROM convoys c JOIN beads b ON b.id=c.bead_id "
                "ORDER BY b.created_at, b.seq"
            )
        ]
        out: builtins.list[ListedConvoy] = []
        for cid in ids:
            convoy: Any = self.require(cid)  # a Convoy, made a ListedConvoy below
            convoy["progress"] = self.progress(cid)
            out.append(convoy)
        return out

    def progress(self, convoy_id: str) -> Progress:
        counts: dict[str, int] = {}
        for (status,) in self.db.conn.execute(
            "SELECT b.status FROM deps d JOIN beads b ON b.id=d.depends_on "
            "WHERE d.bead_id=? AND d.type='tracks'",
            (convoy_id,),
        ):
            counts[status] = counts.get(status, 0) + 1
        total = sum(counts.values())
        return {"total": total, "closed": counts.get(vocab.CLOSED, 0), "by_status": counts}

    def status(self, convoy_id: str) -> ConvoyStatus:
        """Progress, per-rig breakdown and what each waiting bead is blocked on."""
        with self.db.read():
            convoy: Any = self.require(convoy_id)  # a Convoy, made a ConvoyStatus below
            conn = self.db.conn
            beads_out: builtins.list[BlockedBead] = []
            per_rig: dict[str, Progress] = {}
            graph = self.ledger.graph
            for r in conn.execute(
                "SELECT b.* FROM deps d JOIN beads b ON b.id=d.depends_on "
                "WHERE d.bead_id=? AND d.type='tracks' ORDER BY d.seq",
                (convoy_id,),
            ).fetchall():
                bead: Any = rows.bead(r)  # a Bead, made a BlockedBead below
                rig = bead["rig"] or "(town)"
                # the same shape as `progress`: statuses under by_status, so a status
                # named like a counter ("closed") is never counted into it twice
                slot = per_rig.setdefault(rig, {"total": 0, "closed": 0, "by_status": {}})
                slot["total"] += 1
                slot["closed"] += bead["status"] == vocab.CLOSED
                slot["by_status"][bead["status"]] = slot["by_status"].get(bead["status"], 0) + 1
                bead["blocked_by"] = graph.blockers(bead["id"]) if bead["blocked"] else []
                beads_out.append(bead)
            convoy["progress"] = self.progress(convoy_id)
            convoy["rigs"] = per_rig
            convoy["tracked"] = beads_out
            return convoy

    def launch(self, convoy_id: str, *, actor: str | None = None) -> Convoy:
        with self.db.write(durable=True) as conn:
            convoy = self.require(convoy_id)
            if convoy["status"] != vocab.CONVOY_STAGED:
                raise Conflict(f"{convoy_id} is {convoy['status']}, not staged")
            now = iso(self.ledger.now())
            conn.execute("UPDATE convoys SET launched_at=? WHERE bead_id=?", (now, convoy_id))
            self.ledger.beads.set_status(
                convoy_id, vocab.CONVOY_OPEN, actor=actor, kind="convoy_launched"
            )
            self._sling(conn, convoy["beads"], actor)
            return self.require(convoy_id)

    def add(self, convoy_id: str, bead_ids: Sequence[str], *, actor: str | None = None) -> Convoy:
        with self.db.write(durable=True) as conn:
            convoy = self.require(convoy_id)
            if convoy["status"] == vocab.CONVOY_CANCELLED:
                raise Conflict(f"{convoy_id} was cancelled; create a new convoy")
            now = iso(self.ledger.now())
            added = []
            for bid in dict.fromkeys(bead_ids):
                self.ledger.beads.require(bid)
                if bid == convoy_id:
                    raise Conflict("a convoy cannot track itself")
                if bid in convoy["beads"]:
                    continue
                self.ledger.graph._insert(conn, convoy_id, bid, vocab.TRACKS, now, actor, {})
                added.append(bid)
            if not added:
                raise Conflict(f"{convoy_id} already tracks {', '.join(bead_ids)}")
            record_event(conn, convoy_id, "convoy_beads_added", actor, now, {"beads": added})
            if convoy["status"] == vocab.CONVOY_LANDED:
                conn.execute("UPDATE convoys SET landed_at=NULL WHERE bead_id=?", (convoy_id,))
                self.ledger.beads.set_status(
                    convoy_id,
                    vocab.CONVOY_OPEN,
                    actor=actor,
                    kind="convoy_reopened",
                    fields={"closed_at": None},
                )
            if convoy["status"] != vocab.CONVOY_STAGED:
                self._sling(conn, added, actor)
            self._maybe_land(conn, convoy_id)
            return self.require(convoy_id)

    def cancel(
        self, convoy_id: str, *, actor: str | None = None, reason: str | None = None
    ) -> CancelledConvoy:
        """Cancel every tracked bead that has not landed; no agent stays hooked to them."""
        with self.db.write(durable=True) as conn:
            convoy = self.require(convoy_id)
            if convoy["status"] in (vocab.CONVOY_CANCELLED, vocab.CONVOY_LANDED):
                raise Conflict(f"{convoy_id} is already {convoy['status']}")
            beads = self.ledger.beads
            cancelled = []
            for bid in convoy["beads"]:
                status = conn.execute("SELECT status FROM beads WHERE id=?", (bid,)).fetchone()[0]
                if status in vocab.FINAL_STATUSES:
                    continue
                beads.set_status(
                    bid,
                    vocab.CANCELLED,
                    actor=actor,
                    kind="cancelled",
                    data={"reason": f"convoy {convoy_id} cancelled"},
                    fields={
                        "close_reason": reason or f"convoy {convoy_id} cancelled",
                        "assignee": None,
                    },
                )
                cancelled.append(bid)
            beads.set_status(
                convoy_id,
                vocab.CONVOY_CANCELLED,
                actor=actor,
                kind="convoy_cancelled",
                data={"cancelled": cancelled},
            )
            out: Any = self.require(convoy_id)  # a Convoy, made a CancelledConvoy below
            out["cancelled"] = cancelled
            return out

    def bead_status_changed(self, conn: Conn, bead_id: str, new: str) -> None:
        for (cid,) in conn.execute(
            "SELECT d.bead_id FROM deps d JOIN convoys c ON c.bead_id=d.bead_id "
            "WHERE d.depends_on=? AND d.type='tracks'",
            (bead_id,),
        ).fetchall():
            self._maybe_land(conn, cid)

    def _maybe_land(self, conn: Conn, convoy_id: str) -> None:
        status = conn.execute("SELECT status FROM beads WHERE id=?", (convoy_id,)).fetchone()[0]
        if status not in (vocab.CONVOY_OPEN,):
            return
        open_left = conn.execute(
            "SELECT count(*) FROM deps d LEFT JOIN beads b ON b.id=d.depends_on "
            "WHERE d.bead_id=? AND d.type='tracks' AND (b.status IS NULL OR b.status != 'closed')",
            (convoy_id,),
        ).fetchone()[0]
        total = conn.execute(
            "SELECT count(*) FROM deps WHERE bead_id=? AND type='tracks'", (convoy_id,)
        ).fetchone()[0]
        if total and not open_left:
            now = iso(self.ledger.now())
            conn.execute("UPDATE convoys SET landed_at=? WHERE bead_id=?", (now, convoy_id))
            self.ledger.beads.set_status(
                convoy_id,
                vocab.CONVOY_LANDED,
                actor="town",
                kind="convoy_landed",
                data={"beads": total},
            )
            title = conn.execute("SELECT title FROM beads WHERE id=?", (convoy_id,)).fetchone()[0]
            self.ledger.mail.deliver(
                sender="town",
                to=vocab.MAYOR,
                subject=f"Convoy landed: {title}",
                body=f"All {total} beads of convoy {convoy_id} are closed.",
            )
