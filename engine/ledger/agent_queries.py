"""Agent reads: one agent, lists, how many are busy, and the idle polecats work can go to.

A mixin of AgentStore (``ledger.agents``), which holds the writes: the queries keep the
store's method names, so callers read and write through one object.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from engine.errors import NotFound
from engine.ledger import rows

if TYPE_CHECKING:
    from collections.abc import Collection

    from engine.ledger import Ledger
    from engine.ledger.db import Db
    from engine.records import Agent

BUSY_SQL = "hook IS NOT NULL AND status != 'retired'"


class AgentQueries:
    ledger: Ledger
    db: Db

    def get(self, ident: str) -> Agent | None:
        """By id (`rig/polecats/Name`) or by the display name of a live agent."""
        conn = self.db.conn
        row = conn.execute("SELECT * FROM agents WHERE id=?", (ident,)).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT * FROM agents WHERE name=? COLLATE NOCASE AND status != 'retired'", (ident,)
            ).fetchone()
        return rows.agent(row) if row else None

    def require(self, ident: str) -> Agent:
        found = self.get(ident)
        if found is None:
            raise NotFound(f"no live agent {ident!r} (see `gt agents`)")
        return found

    def list(
        self, *, rig: str | None = None, include_retired: bool = False
    ) -> builtins.list[Agent]:
        sql, args = "SELECT * FROM agents WHERE 1=1", []
        if rig:
            sql += " AND rig=?"
            args.append(rig)
        if not include_retired:
            sql += " AND status != 'retired'"
        return [
            rows.agent(r) for r in self.db.conn.execute(sql + " ORDER BY rig, created_at", args)
        ]

    def busy_counts(self) -> tuple[int, dict[str, int]]:
        conn = self.db.conn
        per_rig = {
            r[0]: r[1]
            for r in conn.execute(f"SELECT rig, count(*) FROM agents WHERE {BUSY_SQL} GROUP BY rig")
        }
        return sum(per_rig.values()), per_rig

    def live_names(self) -> set[str]:
        conn = self.db.conn
        return {r[0] for r in conn.execute("SELECT name FROM agents WHERE status != 'retired'")}

    def longest_idle_outside(self, rig: str, runtime: str | None = None) -> str | None:
        """The longest-idle agent that is not an idle polecat of `rig` (running `runtime`,
        when it is given)."""
        row = self.db.conn.execute(
            "SELECT id FROM agents WHERE status='idle' AND hook IS NULL "
            "AND (rig != ? OR (? IS NOT NULL AND coalesce(runtime, '') != ?)) "
            "ORDER BY idle_since LIMIT 1",
            (rig, runtime, runtime),
        ).fetchone()
        return str(row[0]) if row else None

    def idle_in_rig(
        self, rig: str, runtime: str | None = None, *, not_runtimes: Collection[str] = ()
    ) -> Agent | None:
        """The rig's longest-idle polecat with an empty hook: one running `runtime` when it
        is given, and none running one of `not_runtimes`."""
        sql = (
            "SELECT * FROM agents WHERE rig=? AND status='idle' AND hook IS NULL AND role='polecat'"
        )
        args: builtins.list[object] = [rig]
        if runtime is not None:
            sql += " AND runtime=?"
            args.append(runtime)
        if not_runtimes:
            sql += f" AND coalesce(runtime, '') NOT IN ({','.join('?' * len(not_runtimes))})"
            args.extend(not_runtimes)
        row = self.db.conn.execute(sql + " ORDER BY idle_since LIMIT 1", args).fetchone()
        return rows.agent(row) if row else None
