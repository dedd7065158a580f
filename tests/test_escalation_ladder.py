"""Issue 12 §2, the escalation ladder: severities and their routes (town.toml
[escalation]), stale escalations raised a level at most twice, acknowledging stops it, one
open escalation per cause with a count, `gt escalate list/show/ack/close`, and ack/close
from the app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.commands import escalation_actions as actions
from engine.config import SchedulerSettings, TownConfig, load_config
from engine.errors import GtError, UsageError
from engine.escalation_ladder import raise_stale
from engine.escalation_routes import EscalationSettings
from engine.escalations import escalate
from engine.ledger import Ledger
from engine.scheduler import dispatching
from engine.scheduler.reconciler import Scheduler
from gastown_tui.widgets.panels import ProblemsTable
from tests.app_support import (
    AppTown,
    build_town,
    read_ledger,
    run_async_tests,
    select_row,
    settle,
    until_async,
)
from tests.cli_support import run_gt
from tests.conftest import Clock, add_rig
from tests.recording import RecordingDispatcher

HOUR = 3600.0


def file(ledger: Ledger, severity: str = "low", cause: str | None = None) -> str:
    return escalate(
        ledger, title="disk nearly full", body="92%", severity=severity, actor="x", cause=cause
    )["id"]


def kinds(ledger: Ledger, esc: str) -> list[str]:
    return [e["kind"] for e in ledger.beads.history(esc) if e["kind"].startswith("escalation")]


def test_an_unacknowledged_escalation_is_raised_twice_with_rising_severity_then_stops(
    ledger: Ledger, clock: Clock, config: TownConfig, dispatcher: RecordingDispatcher
) -> None:
    """Driven by the scheduler's reconcile (the patrol step), on the ledger's clock."""
    scheduler = Scheduler(ledger, config)
    esc = file(ledger, "low")
    scheduler.reconcile(dispatcher)
    clock.advance(4 * HOUR - 1)  # the default window: not yet
    scheduler.reconcile(dispatcher)
    assert ledger.beads.require(esc)["metadata"]["severity"] == "low"
    seen = []
    for _ in range(4):
        clock.advance(4 * HOUR)
        scheduler.reconcile(dispatcher)
        meta = ledger.beads.require(esc)["metadata"]
        seen.append((meta["severity"], meta["raises"], ledger.beads.require(esc)["priority"]))
    assert seen == [("medium", 1, 2), ("high", 2, 1), ("high", 2, 1), ("high", 2, 1)]
    assert kinds(ledger, esc) == ["escalation_filed", "escalation_raised", "escalation_raised"]
    raised = [e["data"] for e in ledger.beads.history(esc) if e["kind"] == "escalation_raised"]
    assert [(d["from"], d["severity"], d["raises"]) for d in raised] == [
        ("low", "medium", 1),
        ("medium", "high", 2),
    ]
    # the mayor heard of it when it reached medium's route, and again at high
    subjects = [m["subject"] for m in ledger.mail.inbox(["mayor"])]
    assert any(s.startswith("[medium] (raised 1x") for s in subjects)
    assert any(s.startswith("[high] (raised 2x") for s in subjects)


def test_an_acknowledged_escalation_is_not_raised(ledger: Ledger, clock: Clock) -> None:
    routes = EscalationSettings()
    esc = file(ledger, "medium")
    actions.acknowledge(ledger, esc, actor="mayor", note="looking")
    clock.advance(100 * HOUR)
    assert raise_stale(ledger, routes) == []
    assert ledger.beads.require(esc)["metadata"]["severity"] == "medium"
    assert kinds(ledger, esc) == ["escalation_filed", "escalation_acked"]
    # and one acknowledged after a raise stops there
    other = file(ledger, "low", cause="other")
    clock.advance(4 * HOUR)
    assert raise_stale(ledger, routes) == [other]
    actions.acknowledge(ledger, other, actor="mayor")
    clock.advance(100 * HOUR)
    assert raise_stale(ledger, routes) == []
    assert ledger.beads.require(other)["metadata"]["severity"] == "medium"


def test_a_critical_escalation_stays_critical_when_raised(ledger: Ledger, clock: Clock) -> None:
    esc = file(ledger, "critical")
    assert ledger.beads.require(esc)["metadata"]["banner"] is True
    clock.advance(4 * HOUR)
    raise_stale(ledger, EscalationSettings())
    raised = [e["data"] for e in ledger.beads.history(esc) if e["kind"] == "escalation_raised"]
    assert [(d["from"], d["severity"], d["bell"]) for d in raised] == [
        ("critical", "critical", True)
    ]


def test_repeated_causes_make_one_escalation_whose_count_rises(
    ledger: Ledger, scheduler: Scheduler
) -> None:
    """Everything the engine escalates itself goes through the same function, with a cause:
    the scheduler giving up on the same bead again is counted, not filed again."""
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("work", rig="web")["id"]
    for _ in range(3):
        dispatching.escalate_failed(scheduler, bead, "exit 1", failures=3)
    (esc,) = ledger.beads.list(bead_type="escalation")
    assert esc["metadata"]["count"] == 3 and esc["metadata"]["cause"] == f"failed:{bead}"
    assert esc["metadata"]["rig"] == "web"
    assert len(ledger.mail.inbox(["mayor"])) == 1  # told once
    assert kinds(ledger, esc["id"]) == ["escalation_filed", *["escalation_repeated"] * 2]
    # closed, the same cause files a new one
    actions.close(ledger, esc["id"], actor="mayor")
    dispatching.escalate_failed(scheduler, bead, "exit 1", failures=3)
    assert len(ledger.beads.list(bead_type="escalation", status="open")) == 1
    assert len(ledger.beads.list(bead_type="escalation")) == 2


def test_breaker_trips_share_one_critical_escalation(ledger: Ledger, clock: Clock) -> None:
    add_rig(ledger, "web", "gt")
    settings = SchedulerSettings(breaker_failures=3, breaker_window_seconds=60, max_attempts=5)
    sched = Scheduler(ledger, TownConfig(scheduler=settings))
    broken = RecordingDispatcher()
    broken.fail_with = "exec failed"
    for round_ in range(2):
        for i in range(3):
            ledger.beads.create(f"b{round_}{i}", rig="web", slung=True)
        sched.reconcile(broken)
        assert sched.breaker.state()["state"] == "open"
        sched.breaker.reset(actor="mayor")
        clock.advance(120)
    (esc,) = [
        e for e in ledger.beads.list(bead_type="escalation") if e["metadata"]["cause"] == "breaker"
    ]
    assert esc["metadata"]["severity"] == "critical" and esc["metadata"]["count"] == 2
    assert esc["metadata"]["banner"] is True and esc["priority"] == 0


def test_an_agent_repeating_itself_files_one_escalation(ledger: Ledger) -> None:
    from engine.commands import reports

    first = reports.escalate(ledger, reports.Escalation("stuck"), actor="Toast")
    again = reports.escalate(ledger, reports.Escalation("stuck"), actor="Toast")
    assert first.id == again.id and again.told == [] and first.told == ["mayor"]
    other = reports.escalate(ledger, reports.Escalation("stuck"), actor="Nux")
    assert other.id != first.id


def test_routes_come_from_town_toml(tmp_path: Path, ledger: Ledger, clock: Clock) -> None:
    toml = tmp_path / "town.toml"
    toml.write_text(
        "[escalation]\nmax_raises = 1\n"
        '[escalation.low]\nto = ["mayor"]\nstale_hours = 0.5\n'
        '[escalation.medium]\nto = ["witness"]\nstale_hours = 1\n'
    )
    routes = load_config(str(toml)).escalation
    assert routes.high.to == ["mayor"] and routes.critical.bell  # the rest: defaults
    toml.write_text("[escalation.critical]\nstale_hours = 1\n")  # a partial table
    partial = load_config(str(toml)).escalation.critical
    assert partial.to == ["mayor"] and partial.bell and partial.stale_hours == 1
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("work", rig="web")["id"]
    low = escalate(ledger, title="a", body="", severity="low", actor="x", routes=routes)["id"]
    med = escalate(
        ledger, title="b", body="", severity="medium", actor="x", source=bead, routes=routes
    )["id"]
    assert [m["subject"] for m in ledger.mail.inbox(["mayor"])] == ["[low] a"]
    assert [m["subject"] for m in ledger.mail.inbox(["web/witness"])] == ["[medium] b"]
    clock.advance(0.5 * HOUR)
    assert raise_stale(ledger, routes) == [low]
    clock.advance(HOUR)
    assert raise_stale(ledger, routes) == [med]  # low hit max_raises = 1
    clock.advance(10 * HOUR)
    assert raise_stale(ledger, routes) == []


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('[escalation.low]\nto = ["pager"]\n', "escalation.low.to.0"),
        ("[escalation.high]\nstale_hours = 0\n", "escalation.high.stale_hours"),
        ('[escalation.low]\nto = "mayor"\n', "escalation.low.to"),
        ("[escalation]\nurgent = 1\n", "unknown key 'urgent' in [escalation]"),
        ("[escalation.medium]\nto = []\n", "escalation.medium.to"),
        ("[escalation]\nmax_raises = 9\n", "escalation.max_raises"),
    ],
)
def test_a_bad_escalation_table_is_refused_in_one_line(
    tmp_path: Path, table: str, says: str
) -> None:
    toml = tmp_path / "town.toml"
    toml.write_text(table)
    with pytest.raises(GtError) as err:
        load_config(str(toml))
    assert says in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(str(toml))


def test_ack_and_close_refuse_what_is_not_an_open_escalation(ledger: Ledger) -> None:
    bead = ledger.beads.create("work")["id"]
    with pytest.raises(GtError, match="no escalation"):
        actions.acknowledge(ledger, bead, actor="mayor")
    esc = file(ledger)
    actions.close(ledger, esc, actor="mayor")
    with pytest.raises(UsageError, match="only an open"):
        actions.acknowledge(ledger, esc, actor="mayor")
    with pytest.raises(UsageError, match="already closed"):
        actions.close(ledger, esc, actor="mayor")


# ---- gt escalate ------------------------------------------------------------------------


def test_gt_escalate_files_lists_shows_acks_and_closes(town) -> None:  # type: ignore[no-untyped-def]
    filed = run_gt("escalate", "CI is red", "--severity", "high", "--json", town=town)
    assert filed.returncode == 0, filed.stderr
    esc = json.loads(filed.stdout)["id"]
    again = run_gt("escalate", "CI is red", "--severity", "high", town=town)
    assert f"Already escalated as {esc} (raised 2 times)" in again.stdout
    listed = json.loads(run_gt("escalate", "list", "--json", town=town).stdout)
    assert [(r["id"], r["severity"], r["count"]) for r in listed] == [(esc, "high", 2)]
    table = run_gt("escalate", "list", town=town).stdout
    assert esc in table and "high" in table
    shown = json.loads(run_gt("escalate", "show", esc, "--json", town=town).stdout)
    assert [h["kind"] for h in shown["history"]] == ["escalation_filed", "escalation_repeated"]
    assert "filed high, told mayor" in run_gt("escalate", "show", esc, town=town).stdout
    acked = run_gt("escalate", "ack", esc, "--note", "on it", "--json", town=town)
    assert json.loads(acked.stdout)["acked_by"] == "mayor"
    closed = run_gt("escalate", "close", esc, town=town)
    assert closed.returncode == 0 and f"Closed {esc}" in closed.stdout
    assert json.loads(run_gt("escalate", "list", "--json", town=town).stdout) == []
    assert len(json.loads(run_gt("escalate", "list", "--all", "--json", town=town).stdout)) == 1
    # a message that is exactly a subcommand's name: --title
    titled = run_gt("escalate", "--title", "list", "--json", town=town)
    assert json.loads(titled.stdout)["title"] == "list"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("escalate",), "needs a message"),
        (("escalate", "show"), "takes one escalation id"),
        (("escalate", "ack", "gt-nope"), "no escalation gt-nope"),
        (("escalate", "list", "x"), "takes no arguments"),
        (("escalate", "hi", "--title", "x"), "give the message once"),
    ],
)
def test_gt_escalate_refuses_bad_input_in_one_line(town, args: tuple[str, ...], says: str) -> None:  # type: ignore[no-untyped-def]
    proc = run_gt(*args, town=town)
    assert proc.returncode != 0 and says in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_gt_escalate_help_says_how_message_and_subcommands_coexist() -> None:
    out = run_gt("escalate", "--help").stdout
    assert "list/show/ack/close is the subcommand" in out and "--title" in out


# ---- the app ----------------------------------------------------------------------------


@pytest.fixture
def gtown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTown:
    return build_town(tmp_path, monkeypatch)


async def test_the_app_acknowledges_and_closes_the_selected_escalation(gtown: AppTown) -> None:
    app = gtown.app()
    esc = gtown.ids["escalation"]
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await select_row(pilot, "tab-problems", "#problems", f"escalation:{esc}")
        assert app.query_one("#problems", ProblemsTable).selected_key() == f"escalation:{esc}"
        await pilot.press("A")

        async def acked() -> bool:
            bead = await read_ledger(app, lambda led: led.beads.require(esc))
            return bool(bead["metadata"].get("acked_by") == "mayor")

        await until_async(pilot, acked)
        await settle(pilot)
        await select_row(pilot, "tab-problems", "#problems", f"escalation:{esc}")
        await pilot.press("C")

        async def closed() -> bool:
            bead = await read_ledger(app, lambda led: led.beads.require(esc))
            return bool(bead["status"] == "closed")

        await until_async(pilot, closed)


async def test_a_critical_escalation_rings_the_bell_once_and_shows_the_banner(
    gtown: AppTown,
) -> None:
    app = gtown.app()
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)

        def critical(led: Ledger) -> None:
            for _ in range(3):  # one cause: one escalation, one ring
                escalate(led, title="prod down", body="", severity="critical", actor="x", cause="p")

        await read_ledger(app, critical)
        app.engine.wake()
        chip = app.query_one("#need-critical")

        async def shown() -> bool:
            return bool(chip.display) and "1 critical" in str(chip.render())

        await until_async(pilot, shown)
        await settle(pilot)
        assert rings == [1]


run_async_tests(globals())


def test_a_spent_budget_is_one_escalation_however_many_ticks(ledger: Ledger) -> None:
    from tests.test_usage_ledger import UsageDispatcher, s, working

    add_rig(ledger, "web", "gt")
    first = ledger.beads.create("first", rig="web", slung=True)["id"]
    config = TownConfig.model_validate(
        {"budget": {"dollars": 1.0}, "prices": {"m": {"input": 1000, "output": 0}}}
    )
    sched, disp = Scheduler(ledger, config), UsageDispatcher()
    agent = working(ledger, sched, disp)[first]
    disp.recorded[agent] = [s("s1", 1000, 5)]  # $1.00: spent
    for _ in range(4):
        sched.reconcile(disp)
    (esc,) = ledger.beads.list(bead_type="escalation")
    assert esc["metadata"]["cause"] == "budget:town" and esc["metadata"]["count"] == 1
    assert esc["metadata"]["severity"] == "high"
    assert kinds(ledger, esc["id"]) == ["escalation_filed"]


def test_a_rate_limit_that_keeps_coming_back_is_escalated_once_then_counted(
    ledger: Ledger, clock: Clock, scheduler: Scheduler
) -> None:
    pauses = scheduler.pauses
    for _ in range(4):
        entry = pauses.pause("codex", shown_until=None, reason="429", bead=None)
        clock.advance(entry["until"] - clock.t + 1)
        pauses.end_passed()
    (esc,) = ledger.beads.list(bead_type="escalation")
    meta = esc["metadata"]
    assert (meta["cause"], meta["count"], meta["severity"]) == ("rate-limit:codex", 2, "medium")
    assert "3 in a row" in esc["title"]


def test_gates_that_fail_a_bead_for_good_escalate_through_the_ladder(ledger: Ledger) -> None:
    from engine.policy import RetryPolicy
    from engine.refinery import send_back
    from tests.test_ledger_storage import submitted

    bead, mr = submitted(ledger)
    retry = RetryPolicy(max_attempts=1, backoff_base=0, backoff_max=0)
    send_back.gates_failed(ledger, mr, reason="test.sh: exit 1", log=None, retry=retry)
    (esc,) = ledger.beads.list(bead_type="escalation")
    assert esc["metadata"]["cause"] == f"gates:{bead}" and esc["metadata"]["source"] == bead
    # the mayor is told once: by the escalation, not also by the ledger's old mail
    (mail,) = ledger.mail.inbox(["mayor"])
    assert mail["subject"] == f"[high] {bead} failed after 1 attempts: the gates keep failing"
