"""Token usage and what it cost: recording what the agents' CLIs report, the sums per bead,
agent, convoy, rig or runtime (`gt costs`, the app's costs view), and the budgets that
stop new dispatch once spent (town.toml [budget]; dollars need [prices])."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from engine.policy import budget_spent
from engine.usage.attribution import Attribution, attempts, attribute
from engine.usage.pricing import dollars, price_for, tokens

if TYPE_CHECKING:
    from engine.config import Budget, TownConfig
    from engine.ledger import Ledger
    from engine.ledger.usage import UsageGroup
    from engine.records import UsageTotal
    from engine.usage import SessionUsage


class RecordUsage(NamedTuple):
    """What an agent's CLI recorded for its sessions (engine/usage/), read by the engine."""

    agent_id: str
    sessions: tuple[SessionUsage, ...]


def record_usage(ledger: Ledger, args: RecordUsage) -> int:
    """Store the sessions' running totals (idempotent: reading a transcript again never
    counts twice), each on the bead and attempt of the agent's assignment it started in
    (engine/usage/attribution.py), whenever it is read. Returns the rows that changed."""
    if not args.sessions:
        return 0
    with ledger.transaction():
        agent = ledger.agents.get(args.agent_id)
        if agent is None:
            return 0
        windows = attempts(ledger.usage.assignments(agent["id"]))
        groups: dict[Attribution, list[SessionUsage]] = {}
        for session in args.sessions:
            on = attribute(session.started, windows, agent["hook"], agent["attempt"])
            groups.setdefault(on, []).append(session)
        return sum(
            ledger.usage.record(
                agent["id"],
                rig=agent["rig"],
                bead_id=on.bead_id,
                attempt=on.attempt,
                sessions=sessions,
                exact=on.exact,
            )
            for on, sessions in groups.items()
        )


class CostLine(NamedTuple):
    key: str | None  # the bead, agent, convoy, rig or runtime; None for the town
    sessions: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    tokens: int
    dollars: float | None  # of the priced models; None without a price table
    unpriced: list[str]  # models with tokens but no price: not in `dollars`

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()

    def figures(self) -> tuple[str, ...]:
        """Its numbers as `gt costs` and the app's costs screen show them (same columns)."""
        return (
            f"{self.input_tokens:,}",
            f"{self.output_tokens:,}",
            f"{self.cache_read_tokens:,}",
            f"{self.cache_write_tokens:,}",
            f"{self.tokens:,}",
            money(self.dollars),
        )


def money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.4f}"


class BudgetState(NamedTuple):
    scope: str  # "town" or a convoy id
    budget_tokens: int | None
    budget_dollars: float | None
    tokens: int
    dollars: float | None
    spent: str | None  # what is used up ("1,200/1,000 tokens"), None while it lasts

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()

    def describe(self, scope: str | None = None) -> str:
        """One line, as `gt costs` and the app show it; `scope` as the caller made it safe."""
        limits = []
        if self.budget_tokens is not None:
            limits.append(f"{self.tokens:,}/{self.budget_tokens:,} tokens")
        if self.budget_dollars is not None:
            limits.append(f"{money(self.dollars)}/${self.budget_dollars:,.2f}")
        state = "SPENT: no new dispatch" if self.spent else "within budget"
        return f"budget {scope or self.scope}: {', '.join(limits)} ({state})"


class CostsReport(NamedTuple):
    by: str
    lines: list[CostLine]
    total: CostLine
    budgets: list[BudgetState]

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape (`gt costs --json`)."""
        return {
            "by": self.by,
            "lines": [line.as_dict() for line in self.lines],
            "total": self.total.as_dict(),
            "budgets": [b.as_dict() for b in self.budgets],
        }


def _lines(totals: list[UsageTotal], config: TownConfig) -> list[CostLine]:
    """One line per group: the per-model rows summed, priced where a price is known."""
    grouped: dict[str | None, list[UsageTotal]] = {}
    for t in totals:
        grouped.setdefault(t["key"], []).append(t)
    out = []
    for key, rows in grouped.items():
        unpriced = sorted({r["model"] for r in rows if not price_for(r["model"], config.prices)})
        cost = sum(
            dollars(r, price) for r in rows if (price := price_for(r["model"], config.prices))
        )
        out.append(
            CostLine(
                key,
                sum(r["sessions"] for r in rows),
                sum(r["input_tokens"] for r in rows),
                sum(r["output_tokens"] for r in rows),
                sum(r["cache_read_tokens"] for r in rows),
                sum(r["cache_write_tokens"] for r in rows),
                sum(tokens(r) for r in rows),
                round(cost, 6) if config.prices else None,
                unpriced if config.prices else [],
            )
        )
    return out


EMPTY = CostLine(None, 0, 0, 0, 0, 0, 0, None, [])


def _state(scope: str, line: CostLine, budget: Budget) -> BudgetState:
    # Unpriced models add no dollars: a dollar budget counts what has a price.
    why = budget_spent(line.tokens, line.dollars or 0.0, budget.tokens, budget.dollars)
    return BudgetState(scope, budget.tokens, budget.dollars, line.tokens, line.dollars, why)


def budgets(ledger: Ledger, config: TownConfig) -> list[BudgetState]:
    """The town's budget and each convoy's that has one (own or the default), with usage."""
    b = config.budget
    out = []
    with ledger.snapshot():
        if b.tokens is not None or b.dollars is not None:
            (town,) = _lines(ledger.usage.totals("town"), config) or [EMPTY]
            out.append(_state("town", town, b))
        if b.convoy_tokens is None and b.convoy_dollars is None and not b.convoys:
            return out
        for line in _lines(ledger.usage.totals("convoy"), config):
            budget = b.for_convoy(str(line.key))
            if budget.tokens is not None or budget.dollars is not None:
                out.append(_state(str(line.key), line, budget))
    return out


class BudgetStops(NamedTuple):
    """What a spent budget stops: everything (the town's), or the beads of a convoy."""

    town: str | None
    convoys: dict[str, str]  # convoy id -> why its beads may not start
    beads: dict[str, str]  # bead id -> why it may not start

    def blocks(self, bead_id: str) -> str | None:
        return self.beads.get(bead_id)

    def reasons(self) -> list[dict[str, str]]:
        town = [{"scope": "town", "reason": self.town}] if self.town else []
        return town + [{"scope": c, "reason": why} for c, why in self.convoys.items()]


# Where the scheduler leaves the budgets it found spent, for `gt status` and Problems
# (which read the ledger without the town's settings).
SPENT_KEY = "budget_spent"


def spent_budgets(ledger: Ledger) -> list[dict[str, str]]:
    """The budgets spent at the last assignment: scope ("town" or a convoy id) and reason."""
    return [
        {"scope": str(e["scope"]), "reason": str(e["reason"])}
        for e in ledger.state.get(SPENT_KEY, [])
        if isinstance(e, dict)
    ]


def budget_stops(ledger: Ledger, config: TownConfig) -> BudgetStops:
    """For the scheduler: the reasons new dispatch stops, each a sentence for people (and
    kept in the ledger for `gt status` and Problems)."""
    town, by_convoy = None, dict[str, str]()
    for state in budgets(ledger, config):
        if state.spent is None:
            continue
        if state.scope == "town":
            town = f"the town's budget is spent ({state.spent}): no new dispatch"
        else:
            by_convoy[state.scope] = f"convoy {state.scope}'s budget is spent ({state.spent})"
    beads: dict[str, str] = {}
    if by_convoy:
        for bead, convoy in ledger.usage.tracked_by(list(by_convoy)):
            beads.setdefault(bead, by_convoy[convoy])
    stops = BudgetStops(town, by_convoy, beads)
    if ledger.state.get(SPENT_KEY, []) != stops.reasons():
        with ledger.transaction():  # only when it changed: no write per tick
            ledger.state.put(SPENT_KEY, stops.reasons())
    return stops


def costs(ledger: Ledger, config: TownConfig, by: UsageGroup = "bead") -> CostsReport:
    with ledger.snapshot():
        lines = _lines(ledger.usage.totals(by), config)
        (total,) = _lines(ledger.usage.totals("town"), config) or [EMPTY]
    lines.sort(key=lambda line: (-line.tokens, line.key or ""))
    return CostsReport(by, lines, total, budgets(ledger, config))
