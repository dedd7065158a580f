"""Token usage in the ledger: collected from the dispatcher every reconcile without ever
counting a session twice, summed per bead, agent, convoy, rig, runtime; priced where
town.toml has prices; budgets that stop new dispatch when spent; `gt costs`; and a ledger
made by the previous schema opens (migrated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.commands.costs import RecordUsage, budget_stops, costs, record_usage
from engine.config import TownConfig
from engine.json_schemas import OUTPUTS, adapter
from engine.ledger import Ledger, schema
from engine.records import Agent
from engine.scheduler.reconciler import Scheduler
from engine.town import Town, init_town
from engine.usage import SessionUsage
from engine.views.town_snapshot import problems
from tests.cli_support import run_gt
from tests.conftest import add_rig
from tests.recording import RecordingDispatcher


class UsageDispatcher(RecordingDispatcher):
    """Records starts, and reports the sessions a test gives each agent's CLI."""

    def __init__(self) -> None:
        super().__init__()
        self.recorded: dict[str, list[SessionUsage]] = {}
        self.reads = 0

    def usage(self, agent: Agent) -> list[SessionUsage]:
        self.reads += 1
        return self.recorded.get(agent["id"], [])


def s(session: str, i: int, o: int, cr: int = 0, cw: int = 0, model: str = "m") -> SessionUsage:
    return SessionUsage("claude", session, model, i, o, cr, cw)


def working(ledger: Ledger, sched: Scheduler, disp: UsageDispatcher) -> dict[str, str]:
    """Reconcile; bead -> the agent now working it."""
    sched.reconcile(disp)
    return {a["hook"]: a["id"] for a in ledger.agents.list() if a["hook"]}


def test_collecting_again_never_counts_a_session_twice(ledger: Ledger) -> None:
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("work", rig="web", slung=True)["id"]
    sched, disp = Scheduler(ledger, TownConfig()), UsageDispatcher()
    agent = working(ledger, sched, disp)[bead]
    disp.recorded[agent] = [s("s1", 1000, 20, 300, 40)]
    for _ in range(3):
        sched.reconcile(disp)
    (line,) = costs(ledger, TownConfig()).lines
    assert (line.key, line.tokens, line.sessions) == (bead, 1360, 1)
    # The CLI's running total grows: the row follows it, still once.
    disp.recorded[agent] = [s("s1", 2100, 41, 601, 81), s("s2", 5, 1)]
    sched.reconcile(disp)
    sched.reconcile(disp)
    (row1, row2) = ledger.usage.rows(bead_id=bead)
    assert (row1["session"], row1["input_tokens"], row1["output_tokens"]) == ("s1", 2100, 41)
    assert (row2["session"], row2["input_tokens"], row1["attempt"]) == ("s2", 5, 1)
    assert costs(ledger, TownConfig()).total.tokens == 2100 + 41 + 601 + 81 + 5 + 1


def test_a_session_without_a_start_time_stays_on_the_bead_it_was_first_seen_on(
    ledger: Ledger,
) -> None:
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("work", rig="web", slung=True)["id"]
    sched, disp = Scheduler(ledger, TownConfig()), UsageDispatcher()
    agent = working(ledger, sched, disp)[bead]
    assert record_usage(ledger, RecordUsage(agent, (s("s1", 10, 1),))) == 1
    assert record_usage(ledger, RecordUsage(agent, (s("s1", 10, 1),))) == 0  # nothing new
    # Read later, when the agent is on another bead: with no start time to place it by
    # (tests/test_usage_attribution.py), the hook at reading is a guess that never moves it.
    with ledger.transaction():
        ledger.usage.record(
            agent, rig="web", bead_id="gt-other", attempt=2, sessions=[s("s1", 12, 1)]
        )
        # A transcript read mid-write is behind what was stored: never lowers the figures.
        ledger.usage.record(
            agent, rig="web", bead_id="gt-other", attempt=2, sessions=[s("s1", 3, 0)]
        )
    (row,) = ledger.usage.rows(agent=agent)
    assert (row["bead_id"], row["attempt"], row["input_tokens"], row["output_tokens"]) == (
        bead,
        1,
        12,
        1,
    )


def test_usage_is_summed_per_bead_agent_convoy_rig_and_runtime(ledger: Ledger) -> None:
    add_rig(ledger, "web", "gt")
    add_rig(ledger, "api", "ap")
    a = ledger.beads.create("a", rig="web", slung=True)["id"]
    b = ledger.beads.create("b", rig="api", slung=True)["id"]
    c = ledger.beads.create("c", rig="api", slung=True)["id"]
    convoy = ledger.convoys.create("ab", [a, b])["id"]
    sched, disp = Scheduler(ledger, TownConfig()), UsageDispatcher()
    on = working(ledger, sched, disp)
    disp.recorded[on[a]] = [s("sa", 100, 10, model="opus"), s("sa", 1, 1, model="haiku")]
    disp.recorded[on[b]] = [s("sb", 200, 20, 50, 5, model="opus")]
    disp.recorded[on[c]] = [SessionUsage("codex", "sc", "gpt", 400, 40, 1000)]
    sched.reconcile(disp)

    def sums(by: str) -> dict[str | None, int]:
        return {line.key: line.tokens for line in costs(ledger, TownConfig(), by).lines}  # type: ignore[arg-type]

    assert sums("bead") == {a: 112, b: 275, c: 1440}
    assert sums("agent") == {on[a]: 112, on[b]: 275, on[c]: 1440}
    assert sums("convoy") == {convoy: 387}  # c is in no convoy
    assert sums("rig") == {"web": 112, "api": 1715}
    assert sums("runtime") == {"claude": 387, "codex": 1440}
    assert sums("model") == {"opus": 385, "haiku": 2, "gpt": 1440}
    total = costs(ledger, TownConfig()).total
    assert (total.input_tokens, total.output_tokens, total.cache_read_tokens) == (701, 71, 1050)
    assert (total.cache_write_tokens, total.tokens, total.dollars) == (5, 1827, None)


def test_dollars_come_from_the_price_table_by_model_or_prefix(ledger: Ledger) -> None:
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("a", rig="web", slung=True)["id"]
    sched, disp = Scheduler(ledger, TownConfig()), UsageDispatcher()
    agent = working(ledger, sched, disp)[bead]
    disp.recorded[agent] = [
        s("s", 1_000_000, 100_000, 2_000_000, 10_000, model="claude-opus-4-8"),
        s("s", 1000, 0, model="mystery"),
    ]
    sched.reconcile(disp)
    config = TownConfig.model_validate(
        {
            "prices": {
                "claude": {"input": 1, "output": 1},
                "claude-opus": {"input": 5, "output": 25, "cache_read": 0.5, "cache_write": 6.25},
            }
        }
    )
    total = costs(ledger, config).total
    # the longest matching prefix: 5 + 0.1 * 25 + 2 * 0.5 + 0.01 * 6.25
    assert total.dollars == pytest.approx(8.5625)
    assert total.unpriced == ["mystery"]


def test_a_convoy_over_its_budget_stops_dispatching_and_says_why(ledger: Ledger) -> None:
    add_rig(ledger, "web", "gt")
    first = ledger.beads.create("first", rig="web")["id"]
    later = ledger.beads.create("later", rig="web")["id"]
    spent = ledger.convoys.create("spends", [first, later], staged=True)["id"]
    config = TownConfig.model_validate({"budget": {"convoy_tokens": 1000}})
    sched, disp = Scheduler(ledger, config), UsageDispatcher()
    with ledger.transaction():
        ledger.beads.set_slung(first, actor="mayor")
    agent = working(ledger, sched, disp)[first]
    disp.recorded[agent] = [s("s1", 900, 100)]  # exactly the budget: spent
    sched.reconcile(disp)
    other = ledger.beads.create("other", rig="web")["id"]
    fresh = ledger.convoys.create("fresh", [other])["id"]  # slings it
    with ledger.transaction():
        ledger.beads.set_slung(later, actor="mayor")
    result = sched.schedule()
    assert [a.bead_id for a in result.assignments] == [other]
    assert result.reasons[later] == f"convoy {spent}'s budget is spent (1,000/1,000 tokens)"
    (state, *_) = costs(ledger, config).budgets
    assert (state.scope, state.tokens, state.spent) == (spent, 1000, "1,000/1,000 tokens")
    assert fresh not in {b.scope for b in costs(ledger, config).budgets}  # nothing spent yet
    # Its own budget, larger than the default, lets it go on.
    roomy = TownConfig.model_validate(
        {"budget": {"convoy_tokens": 1000, "convoys": {spent: {"tokens": 5000}}}}
    )
    assert budget_stops(ledger, roomy).beads == {}


def test_the_towns_budget_spent_stops_all_new_dispatch(ledger: Ledger, town: Town) -> None:
    add_rig(ledger, "web", "gt")
    first = ledger.beads.create("first", rig="web", slung=True)["id"]
    config = TownConfig.model_validate(
        {"budget": {"dollars": 1.0}, "prices": {"m": {"input": 1000, "output": 0}}}
    )
    sched, disp = Scheduler(ledger, config), UsageDispatcher()
    agent = working(ledger, sched, disp)[first]
    disp.recorded[agent] = [s("s1", 999, 5)]  # $0.999: not yet
    sched.reconcile(disp)
    ledger.beads.create("second", rig="web", slung=True)
    assert sched.schedule().paused is None
    disp.recorded[agent] = [s("s1", 1000, 5)]  # $1.00: spent
    sched.reconcile(disp)
    ledger.beads.create("third", rig="web", slung=True)
    result = sched.schedule()
    assert result.assignments == []
    assert result.paused == "the town's budget is spent ($1.00/$1.00): no new dispatch"
    # Said in gt status and in the app's Problems.
    assert problems(ledger)[-1] == {"kind": "budget", "id": "town", "text": result.paused}
    status = run_gt("status", "--json", town=town)
    assert json.loads(status.stdout)["budget_spent"] == [{"scope": "town", "reason": result.paused}]
    assert f"! {result.paused} (`gt costs`)" in run_gt("status", town=town).stdout
    # Raised: dispatch goes on, and the problem goes.
    more = TownConfig.model_validate(
        {"budget": {"dollars": 2.0}, "prices": {"m": {"input": 1000, "output": 0}}}
    )
    assert [a.bead_id for a in Scheduler(ledger, more).schedule().assignments] != []
    assert [p for p in problems(ledger) if p["kind"] == "budget"] == []


def test_a_dollar_budget_without_prices_is_refused(tmp_path: Path) -> None:
    town = init_town(str(tmp_path / "town"))
    with open(town.config_path, "a", encoding="utf-8") as fh:
        fh.write("\n[budget]\nconvoy_dollars = 5\n")
    proc = run_gt("costs", town=town)
    assert proc.returncode != 0
    assert proc.stderr.strip().endswith(
        "prices: a dollar budget needs prices (dollars per million tokens)"
    )
    assert "Traceback" not in proc.stderr


def test_gt_costs_prints_the_sums_and_its_json_matches_the_schema(tmp_path: Path) -> None:
    town = init_town(str(tmp_path / "town"))
    with Ledger(town.ledger_target) as led:
        add_rig(led, "web", "gt")
        bead = led.beads.create("work", rig="web", slung=True)["id"]
        sched, disp = Scheduler(led, TownConfig()), UsageDispatcher()
        agent = working(led, sched, disp)[bead]
        # The figures the scripted server returns over five turns (tests/test_usage_real_clis)
        disp.recorded[agent] = [
            SessionUsage("claude", "s1", "claude-opus-4-8", 6000, 110, 1510, 210)
        ]
        sched.reconcile(disp)
    with open(town.config_path, "a", encoding="utf-8") as fh:
        fh.write('\n[budget]\ntokens = 100000\n[prices."claude-opus"]\ninput = 5\noutput = 25\n')
    proc = run_gt("costs", "--json", town=town)
    assert proc.returncode == 0, proc.stderr
    adapter(OUTPUTS["costs"].shape).validate_json(proc.stdout)
    doc = json.loads(proc.stdout)
    assert doc["lines"] == [
        {
            "key": bead,
            "sessions": 1,
            "input_tokens": 6000,
            "output_tokens": 110,
            "cache_read_tokens": 1510,
            "cache_write_tokens": 210,
            "tokens": 7830,
            "dollars": 0.03275,
            "unpriced": [],
        }
    ]
    assert doc["budgets"] == [
        {
            "scope": "town",
            "budget_tokens": 100000,
            "budget_dollars": None,
            "tokens": 7830,
            "dollars": 0.03275,
            "spent": None,
        }
    ]
    text = run_gt("costs", "--by", "runtime", town=town)
    assert text.returncode == 0, text.stderr
    header, claude, total, budget = text.stdout.splitlines()
    assert header.split()[:2] == ["RUNTIME", "INPUT"]
    assert claude.split() == ["claude", "6,000", "110", "1,510", "210", "7,830", "$0.0328"]
    assert total.split()[0] == "TOTAL"
    assert budget == "budget town: 7,830/100,000 tokens (within budget)"


def test_a_ledger_of_the_previous_schema_is_migrated_on_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.db"
    with monkeypatch.context() as old:
        old.setattr(schema, "SCHEMA_VERSION", 1)
        old.setattr(schema, "MIGRATIONS", {1: schema.MIGRATIONS[1]})
        with Ledger(path, create=True) as led:
            # A rig only: today's bead code writes columns later versions added.
            add_rig(led, "web", "gt")
    with Ledger(path) as led:  # the usage table is added, nothing lost
        assert led.rigs.require("web")["prefix"] == "gt"
        bead = led.beads.create("kept", rig="web")["id"]
        assert costs(led, TownConfig()).lines == []
        assert led.usage.record("a", rig="web", bead_id=bead, attempt=1, sessions=[s("s", 1, 1)])
        assert costs(led, TownConfig()).total.tokens == 2
    with Ledger(path) as led:  # opened again: nothing to migrate
        assert costs(led, TownConfig()).total.tokens == 2
