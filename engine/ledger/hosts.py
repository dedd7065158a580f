"""Hosts: the engines sharing this ledger, one per machine (`gastown --engine-only --host`).

A host row says who runs polecats where: its capacity, the rigs it serves (an empty list:
all), how to reach it (address, town root), and whether it is alive (`heartbeat_at`,
renewed every few seconds, within `lease_seconds`). `epoch` grows at each (re)join: every
write a host's engine makes about its membership names its epoch, so an engine that was
declared lost (or replaced by a newer join under the same name) changes nothing with its
late heartbeat or stop.

Storage only: when a heartbeat is too old, and what to say about it, is the caller's
(engine/policy.py, engine/scheduler/host_failover.py).
"""

from __future__ import annotations

import builtins
import json
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.ledger.agent_queries import BUSY_SQL
from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.ledger.db import Row
    from engine.records import Host, HostRelease

LIVE = "live"
LOST = "lost"
STOPPED = "stopped"


def _host(row: Row) -> Host:
    d: Any = dict(row)
    d["rigs"] = json.loads(d["rigs"])
    return d


class HostStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    # ---- reads ---------------------------------------------------------------------------

    def get(self, name: str) -> Host | None:
        row = self.db.conn.execute("SELECT * FROM hosts WHERE name=?", (name,)).fetchone()
        return _host(row) if row else None

    def list(self) -> builtins.list[Host]:
        return [_host(r) for r in self.db.conn.execute("SELECT * FROM hosts ORDER BY name")]

    def live(self) -> builtins.list[Host]:
        return [
            _host(r)
            for r in self.db.conn.execute(
                "SELECT * FROM hosts WHERE state=? ORDER BY name", (LIVE,)
            )
        ]

    def busy_counts(self) -> dict[str, int]:
        """Working polecats per host (agents with a hook), hosts with none left out."""
        return {
            r[0]: int(r[1])
            for r in self.db.conn.execute(
                f"SELECT host, count(*) FROM agents WHERE host IS NOT NULL AND {BUSY_SQL}"
                " GROUP BY host"
            )
        }

    def hostless_busy(self) -> int:
        """Working polecats that belong to no host: a single-host engine runs them."""
        row = self.db.conn.execute(
            f"SELECT count(*) FROM agents WHERE host IS NULL AND {BUSY_SQL}"
        ).fetchone()
        return int(row[0])

    # ---- a host's own writes, fenced by its epoch ---------------------------------------

    def join(
        self,
        name: str,
        *,
        capacity: int,
        rigs: builtins.list[str],
        address: str,
        town_root: str,
        lease_seconds: float,
    ) -> int:
        """Register (or re-register) the host as live under a new epoch; returns it."""
        now = self.ledger.now()
        with self.db.write(durable=True) as conn:
            conn.execute(
                "INSERT INTO hosts(name, capacity, rigs, address, town_root, epoch,"
                " heartbeat_at, lease_seconds, state, joined_at) VALUES (?,?,?,?,?,1,?,?,?,?)"
                " ON CONFLICT (name) DO UPDATE SET capacity=excluded.capacity,"
                " rigs=excluded.rigs, address=excluded.address, town_root=excluded.town_root,"
                " epoch=hosts.epoch + 1, heartbeat_at=excluded.heartbeat_at,"
                " lease_seconds=excluded.lease_seconds, state=excluded.state,"
                " joined_at=excluded.joined_at",
                (
                    name,
                    capacity,
                    json.dumps(rigs),
                    address,
                    town_root,
                    now,
                    lease_seconds,
                    LIVE,
                    now,
                ),
            )
            epoch = int(conn.execute("SELECT epoch FROM hosts WHERE name=?", (name,)).fetchone()[0])
            record_event(
                conn,
                None,
                "host_joined",
                name,
                iso(now),
                {"host": name, "epoch": epoch, "capacity": capacity, "address": address},
            )
        return epoch

    def beat(self, name: str, epoch: int) -> bool:
        """Renew the host's heartbeat; False when it is no longer live under `epoch`
        (declared lost, stopped, or re-joined by another engine): nothing changed."""
        with self.db.write() as conn:
            cur = conn.execute(
                "UPDATE hosts SET heartbeat_at=? WHERE name=? AND epoch=? AND state=?",
                (self.ledger.now(), name, epoch, LIVE),
            )
            return bool(cur.rowcount)

    def stop(self, name: str, epoch: int) -> bool:
        """A clean stop: the host is no longer live (its polecats' sessions ended with it)."""
        now = self.ledger.now()
        with self.db.write(durable=True) as conn:
            cur = conn.execute(
                "UPDATE hosts SET state=? WHERE name=? AND epoch=? AND state=?",
                (STOPPED, name, epoch, LIVE),
            )
            if not cur.rowcount:
                return False
            record_event(conn, None, "host_stopped", name, iso(now), {"host": name, "epoch": epoch})
            return True

    # ---- failover ------------------------------------------------------------------------

    def declare_lost(
        self, name: str, epoch: int, *, by: str, reason: str
    ) -> builtins.list[HostRelease] | None:
        """Mark a live (or stopped) host lost, end its agents and put their work back to
        open (not a failed attempt: the bead did nothing wrong; its next dispatch is
        attempt+1). None when the host is no longer under `epoch` (it re-joined, or another
        engine declared it first): nothing changed. Joins the caller's transaction."""
        conn = self.db.conn
        now_e = self.ledger.now()
        now = iso(now_e)
        with self.db.write(durable=True):
            cur = conn.execute(
                "UPDATE hosts SET state=? WHERE name=? AND epoch=? AND state IN (?, ?)",
                (LOST, name, epoch, LIVE, STOPPED),
            )
            if not cur.rowcount:
                return None
            released: builtins.list[HostRelease] = []
            agents = conn.execute(
                "SELECT id, name, hook, attempt FROM agents WHERE host=? AND status != 'retired'",
                (name,),
            ).fetchall()
            for a in agents:
                hook = a["hook"]
                self.ledger.agents.retire(a["id"], reason=reason)
                if not hook:
                    continue
                bead = conn.execute(
                    "SELECT status, attempt FROM beads WHERE id=?", (hook,)
                ).fetchone()
                if bead is None or bead["status"] not in (vocab.HOOKED, vocab.IN_PROGRESS):
                    continue
                self.ledger.beads.set_status(
                    hook,
                    vocab.OPEN,
                    actor=by,
                    kind="host_released",
                    data={"reason": reason, "host": name},
                    fields={"assignee": None, "last_error": reason},
                )
                released.append(
                    {"bead_id": hook, "attempt": int(bead["attempt"]), "agent": a["name"]}
                )
            record_event(
                conn,
                None,
                "host_lost",
                by,
                now,
                {
                    "host": name,
                    "epoch": epoch,
                    "reason": reason,
                    "released": [r["bead_id"] for r in released],
                },
            )
        return released
