"""The rig registry: names, bead prefixes, capability labels, gates."""

from __future__ import annotations

import builtins
import json
import re
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.errors import Conflict, NotFound, UsageError
from engine.ledger.graph import record_event
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.records import Rig

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,9}$")


def check_rig_name(name: str) -> str:
    if not NAME_RE.match(name) or len(name) > 40:
        raise UsageError(f"bad rig name {name!r}: use letters, digits, '-' and '_' (max 40)")
    return name


def check_prefix(prefix: str) -> str:
    if not PREFIX_RE.match(prefix):
        raise UsageError(
            f"bad prefix {prefix!r}: 1-10 lowercase letters/digits, starting with a letter"
        )
    if prefix == vocab.TOWN_PREFIX:
        raise UsageError(f"the prefix {vocab.TOWN_PREFIX!r} is reserved for town-level beads")
    return prefix


def default_prefix(name: str) -> str:
    letters = re.sub(r"[^a-z0-9]", "", name.lower()).lstrip("0123456789") or "r"
    return letters[:3] if letters != vocab.TOWN_PREFIX else "hqr"


def _rig(row: Any) -> Rig:
    d: Any = dict(row)  # the row's columns: tests/test_records.py checks it is a Rig
    for k in ("capabilities", "gates"):
        d[k] = json.loads(d[k])
    d["config"] = json.loads(d["config"])
    return d


class RigStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    def add(
        self,
        name: str,
        *,
        prefix: str,
        source: str,
        path: str,
        capabilities: list[str],
        gates: list[str],
        config: dict[str, Any] | None = None,
    ) -> Rig:
        check_rig_name(name)
        check_prefix(prefix)
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM rigs WHERE name=?", (name,)).fetchone():
                raise Conflict(f"a rig named {name!r} already exists")
            owner = conn.execute("SELECT name FROM rigs WHERE prefix=?", (prefix,)).fetchone()
            if owner:
                raise Conflict(
                    f"prefix {prefix!r} is already used by rig {owner[0]!r}; "
                    f"choose another with --prefix"
                )
            now = iso(self.ledger.now())
            conn.execute(
                "INSERT INTO rigs(name, prefix, source, path, capabilities, gates, config,"
                " created_at) VALUES (?,?,?,?,?,?,?,?)",
                (
                    name,
                    prefix,
                    source,
                    path,
                    json.dumps(sorted(set(capabilities))),
                    json.dumps(gates),
                    json.dumps(config or {}),
                    now,
                ),
            )
            record_event(conn, None, "rig_added", None, now, {"rig": name, "prefix": prefix})
        return self.require(name)

    def get(self, name: str) -> Rig | None:
        row = self.db.conn.execute("SELECT * FROM rigs WHERE name=?", (name,)).fetchone()
        return _rig(row) if row else None

    def require(self, name: str) -> Rig:
        rig = self.get(name)
        if rig is None:
            known = [r["name"] for r in self.list()]
            raise NotFound(
                f"no rig {name!r}"
                + (f" (rigs: {', '.join(known)})" if known else " (add one with `gt rig add`)")
            )
        return rig

    def list(self) -> builtins.list[Rig]:
        return [_rig(r) for r in self.db.conn.execute("SELECT * FROM rigs ORDER BY name")]

    def by_prefix(self, prefix: str) -> Rig | None:
        row = self.db.conn.execute("SELECT * FROM rigs WHERE prefix=?", (prefix,)).fetchone()
        return _rig(row) if row else None

    def rig_for_bead_id(self, bead_id: str) -> str | None:
        """Route a bead id to its rig by prefix (longest matching prefix wins)."""
        best: tuple[int, str] | None = None
        for name, prefix in self.db.conn.execute("SELECT name, prefix FROM rigs"):
            if bead_id.startswith(prefix + "-") and (best is None or len(prefix) > best[0]):
                best = (len(prefix), name)
        return best[1] if best else None

    def counts(self, name: str) -> dict[str, int]:
        """Beads of a rig by status."""
        return {
            r[0]: r[1]
            for r in self.db.conn.execute(
                "SELECT status, count(*) FROM beads WHERE rig=? GROUP BY status", (name,)
            )
        }

    def remove(self, name: str, *, force: bool = False) -> Rig:
        with self.db.write() as conn:
            rig = self.require(name)
            busy = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM agents WHERE rig=? AND hook IS NOT NULL "
                    "AND status != 'retired'",
                    (name,),
                )
            ]
            if busy and not force:
                raise Conflict(
                    f"rig {name!r} has agents at work ({', '.join(busy)}); "
                    f"wait, or use --force to stop them"
                )
            self.ledger.agents.retire_rig(name, reason="rig removed")
            conn.execute("DELETE FROM rigs WHERE name=?", (name,))
            record_event(
                conn,
                None,
                "rig_removed",
                None,
                iso(self.ledger.now()),
                {"rig": name, "forced": bool(busy)},
            )
            return rig

    def set_config(self, name: str, config: dict[str, Any]) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE rigs SET config=? WHERE name=?", (json.dumps(config), name))
