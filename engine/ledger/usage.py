"""Token usage per agent session (the `usage` table) and its sums.

Figures come in as each CLI's running totals for a session (engine/usage/), so recording
a session again replaces its figures (never below what was stored: a transcript read while
the CLI writes can only be behind) and never adds twice. The bead and attempt are the
caller's (engine/usage/attribution.py): an exact one replaces what was stored, a guess only
fills a session stored with none. Plain storage: prices and budgets are the caller's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from engine.timeutil import iso

if TYPE_CHECKING:
    from collections.abc import Iterable

    from engine.ledger import Ledger
    from engine.records import UsageRow, UsageTotal
    from engine.usage import SessionUsage

UsageGroup = Literal["bead", "agent", "convoy", "rig", "runtime", "model", "town"]
GROUPS: tuple[UsageGroup, ...] = ("bead", "agent", "convoy", "rig", "runtime", "model", "town")

_FIGURES = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
_SUMS = ", ".join(f"sum(u.{f}) AS {f}" for f in _FIGURES)
_TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")

_KEY = {
    "bead": "u.bead_id",
    "agent": "u.agent",
    "convoy": "d.bead_id",
    "rig": "u.rig",
    "runtime": "u.runtime",
    "model": "u.model",
    "town": "NULL",
}


class UsageStore:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.db = ledger.db

    def record(
        self,
        agent: str,
        *,
        rig: str | None,
        bead_id: str | None,
        attempt: int,
        sessions: Iterable[SessionUsage],
        exact: bool = False,
    ) -> int:
        """Store each session's figures (idempotent); returns how many rows changed.
        `bead_id` and `attempt` replace a stored session's when `exact`, else they only
        fill one stored with no bead."""
        now = iso(self.ledger.now())
        changed = 0
        with self.db.write() as conn:
            for s in sessions:
                # Both backends evaluate every SET expression against the row as it was.
                # Written for both: no two-argument max() (PostgreSQL's is GREATEST), no
                # numbered parameters, and NULL-safe comparison by COALESCE (bead ids are
                # never empty).
                grow = "{c}=CASE WHEN excluded.{c} > usage.{c} THEN excluded.{c} ELSE usage.{c} END"
                sets = ", ".join(grow.format(c=c) for c in _TOKEN_COLUMNS)
                replace = "(? = 1 OR usage.bead_id IS NULL)"
                cur = conn.execute(
                    "INSERT INTO usage(agent, session, model, runtime, rig, bead_id, attempt, "
                    "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
                    "first_seen, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
                    f"ON CONFLICT(agent, session, model) DO UPDATE SET {sets}, "
                    f"bead_id=CASE WHEN {replace} THEN excluded.bead_id ELSE usage.bead_id END, "
                    f"attempt=CASE WHEN {replace} THEN excluded.attempt ELSE usage.attempt END, "
                    "updated_at=excluded.updated_at "
                    "WHERE excluded.input_tokens > usage.input_tokens "
                    "OR excluded.output_tokens > usage.output_tokens "
                    "OR excluded.cache_read_tokens > usage.cache_read_tokens "
                    "OR excluded.cache_write_tokens > usage.cache_write_tokens "
                    f"OR ({replace} AND (COALESCE(usage.bead_id, '') "
                    "<> COALESCE(excluded.bead_id, '') OR usage.attempt != excluded.attempt))",
                    (
                        agent,
                        s.session,
                        s.model,
                        s.runtime,
                        rig,
                        bead_id,
                        attempt,
                        s.input_tokens,
                        s.output_tokens,
                        s.cache_read_tokens,
                        s.cache_write_tokens,
                        now,
                        now,
                        int(exact),
                        int(exact),
                        int(exact),
                    ),
                )
                changed += cur.rowcount
        return changed

    def assignments(self, agent: str) -> list[tuple[str, str, int]]:
        """(at, bead, attempt) of each time the agent was hooked to a bead, oldest first:
        the windows its sessions are attributed by (engine/usage/attribution.py)."""
        return [
            (r[0], r[1], int(r[2] or 0))
            for r in self.db.conn.execute(
                "SELECT at, bead_id, attempt FROM events "
                "WHERE kind='hooked' AND actor=? AND bead_id IS NOT NULL ORDER BY id",
                (agent,),
            )
        ]

    def rows(self, *, bead_id: str | None = None, agent: str | None = None) -> list[UsageRow]:
        sql, args = "SELECT * FROM usage", []
        where = [(c, v) for c, v in (("bead_id", bead_id), ("agent", agent)) if v is not None]
        if where:
            sql += " WHERE " + " AND ".join(f"{c}=?" for c, _ in where)
            args = [v for _, v in where]
        out: list[Any] = [dict(r) for r in self.db.conn.execute(sql + " ORDER BY first_seen", args)]
        return out

    def totals(self, by: UsageGroup, *, key: str | None = None) -> list[UsageTotal]:
        """Sums per group and model (a price is per model); `key` keeps one group. A bead
        tracked by two convoys counts in both; usage of no convoy's bead in none."""
        column = _KEY[by]
        join = (
            " JOIN deps d ON d.depends_on = u.bead_id AND d.type='tracks'" if by == "convoy" else ""
        )
        where, args = "", []
        if key is not None and by != "town":
            where, args = f" WHERE {column}=?", [key]
        # the town is one key (NULL): PostgreSQL refuses a constant in GROUP BY
        keys = "u.model" if column == "NULL" else f"{column}, u.model"
        sql = (
            f"SELECT {column} AS key, u.model AS model, count(*) AS sessions, {_SUMS} "
            f"FROM usage u{join}{where} GROUP BY {keys} ORDER BY {keys}"
        )
        out: list[Any] = [dict(r) for r in self.db.conn.execute(sql, args)]
        return out

    def tracked_by(self, convoy_ids: list[str]) -> list[tuple[str, str]]:
        """(bead, convoy) for every bead the convoys track."""
        marks = ",".join("?" for _ in convoy_ids)
        return [
            (r[0], r[1])
            for r in self.db.conn.execute(
                "SELECT depends_on, bead_id FROM deps "
                f"WHERE type='tracks' AND bead_id IN ({marks}) ORDER BY seq",
                convoy_ids,
            )
        ]
