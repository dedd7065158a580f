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
    from engine.ledger.db import AnyDb
    from engine.records import Agent

BUSY_SQL = "hook IS NOT NULL AND status != 'retired'"


class AgentQueries:
    ledger: Ledger
    db: AnyDb

    def get(self, ident: str) -> Agent | None:
        """By id (`rig/polecats/Name`) or by the display name of a live agent."""
        conn = self.db.conn
        row = conn.execute("SELECT * FROM agents WHERE id=?", (ident,)).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT * FROM agents WHERE lower(name)=lower(?) AND status != 'retired'",
                (ident,),
            ).fetchone()
        return rows.agent(row) if row else None

    def require(self, ident: str) -> Agent:
        found = self.get(ident)
        if found is None:
            raise NotFound(f"no live agent {ident!r} (see `gt agents`)")
        return found

    def list(
        self, *, rig: str | None = None, include_retired: bool = False, host: str | None = None
    ) -> builtins.list[Agent]:
        """`host`: only the agents that host's engine runs (None: every agent)."""
        sql, args = "SELECT * FROM agents WHERE 1=1", []
        if rig:
            sql += " AND rig=?"
            args.append(rig)
        if host is not None:
            sql += " AND host=?"
            args.append(host)
        if not include_retired:
            sql += " AND status != 'retired'"
        return [
            rows.agent(r) for r in self.db.conn.execute(sql + " ORDER BY rig, created_at", args)
        ]

    def busy_counts(self, host: str | None = None) -> tuple[int, dict[str, int]]:
        """Working polecats, in all and per rig (of `host`, when given)."""
        sql, args = f"SELECT rig, count(*) FROM agents WHERE {BUSY_SQL}", []
        if host is not None:
            sql += " AND host=?"
            args.append(host)
        per_rig = {r[0]: r[1] for r in self.db.conn.execute(sql + " GROUP BY rig", args)}
        return sum(per_rig.values()), per_rig

    def busy_on(self, host: str) -> int:
        """Working polecats of one host."""
        return self.busy_counts(host)[0]

    def live_count(self, host: str | None = None) -> int:
        """Live agents (of one host, when given)."""
        sql, args = "SELECT count(*) FROM agents WHERE status != 'retired'", []
        if host is not None:
            sql += " AND host=?"
            args.append(host)
        return int(self.db.conn.execute(sql, args).fetchone()[0])

    def live_names(self) -> set[str]:
        conn = self.db.conn
        return {r[0] for r in conn.execute("SELECT name FROM agents WHERE status != 'retired'")}

    def longest_idle_outside(
        self, rig: str, runtime: str | None = None, *, host: str | None = None
    ) -> str | None:
        """The longest-idle agent (of `host`, when given) that is not an idle polecat of
        `rig` (running `runtime`, when it is given)."""
        # the runtime's test written only when there is one: PostgreSQL cannot type a
        # bare `? IS NOT NULL`
        sql = "SELECT id FROM agents WHERE status='idle' AND hook IS NULL "
        args: builtins.list[object] = [rig]
        if runtime is None:
            sql += "AND rig != ? "
        else:
            sql += "AND (rig != ? OR coalesce(runtime, '') != ?) "
            args.append(runtime)
        if host is not None:
            sql += "AND host=? "
            args.append(host)
        row = self.db.conn.execute(sql + "ORDER BY idle_since LIMIT 1", args).fetchone()
        return str(row[0]) if row else None

    def idle_in_rig(
        self,
        rig: str,
        runtime: str | None = None,
        *,
        not_runtimes: Collection[str] = (),
        host: str | None = None,
    ) -> Agent | None:
        """The rig's longest-idle polecat with an empty hook: one running `runtime` when it
        is given, none running one of `not_runtimes`, and one of `host` when it is given."""
        sql = (
            "SELECT * FROM agents WHERE rig=? AND status='idle' AND hook IS NULL AND role='polecat'"
        )
        args: builtins.list[object] = [rig]
        if host is not None:
            sql += " AND host=?"
            args.append(host)
        if runtime is not None:
            sql += " AND runtime=?"
            args.append(runtime)
        if not_runtimes:
            sql += f" AND coalesce(runtime, '') NOT IN ({','.join('?' * len(not_runtimes))})"
            args.extend(not_runtimes)
        row = self.db.conn.execute(sql + " ORDER BY idle_since LIMIT 1", args).fetchone()
        return rows.agent(row) if row else None
