"""Rate limits and usage windows (issue 10, item 7): a runtime that hit a limit pauses
(until the reset time its CLI shows, else a growing backoff), its bead goes back without
spending an attempt, the other runtimes keep working, and dispatch resumes by itself."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine import vocab
from engine.config import TownConfig
from engine.json_schemas import OUTPUTS, adapter
from engine.json_shapes import RuntimePause
from engine.ledger import Ledger
from engine.polecats.witness import RateLimited
from engine.policy import limit_seen, pause_backoff
from engine.scheduler.reconciler import Scheduler
from engine.scheduler.runtime_pauses import BACKOFF_BASE, RuntimePauses
from engine.scheduler.verdicts import act_on
from engine.town import Town
from engine.views.town_snapshot import problems
from tests.app_support import build_town, read_ledger, settle
from tests.conftest import Clock, add_rig, gt
from tests.recording import RecordingDispatcher

# 2026-11-30 02:26 UTC
NOW = datetime(2026, 11, 30, 2, 26, tzinfo=UTC).timestamp()


def at(*when: int, tz: object = UTC) -> float:
    return datetime(*when, tzinfo=tz).timestamp()  # type: ignore[arg-type, misc]


# ---- the rules: what each CLI prints, and when it says the window resets ------------------


def test_codex_usage_limit_resets_at_the_clock_time_it_shows_today() -> None:
    # codex 0.171.0, its window reset within the day (captured from the real binary)
    seen = limit_seen("You’ve hit your usage limit. Try again at 3:26 AM.", NOW, UTC)
    assert seen is not None and seen.until == at(2026, 11, 30, 3, 26)


def test_codex_usage_limit_on_another_day_carries_its_date() -> None:
    text = "working...\nYou’ve hit your usage limit. Try again at Dec 3rd, 2026 2:26 AM.\n"
    seen = limit_seen(text, NOW, UTC)
    assert seen is not None
    assert seen.line.startswith("You’ve hit your usage limit")
    assert seen.until == at(2026, 12, 3, 2, 26)


def test_a_clock_time_already_past_today_is_tomorrows() -> None:
    seen = limit_seen("You’ve hit your usage limit. Try again at 1:05 AM.", NOW, UTC)
    assert seen is not None and seen.until == at(2026, 12, 1, 1, 5)


def test_claude_429_shows_no_reset_time() -> None:
    text = (
        "API Error: Request rejected (429) · This request would exceed your account's "
        "rate limit. Please try again later."
    )
    seen = limit_seen(text, NOW, UTC)
    assert seen is not None and seen.until is None


def test_claude_plan_window_resets_in_the_zone_it_names() -> None:
    seen = limit_seen("5-hour limit reached ∙ resets 3pm (Europe/Berlin)", NOW, UTC)
    assert seen is not None
    assert seen.until == at(2026, 11, 30, 15, 0, tz=ZoneInfo("Europe/Berlin"))
    old = limit_seen("Claude AI usage limit reached|1764471600", NOW, UTC)
    assert old is not None and old.until == 1764471600.0


def test_gemini_quota_with_a_retry_delay() -> None:
    text = "[API Error: You exceeded your current quota. Please retry in 7.5s]"
    seen = limit_seen(text, NOW, UTC)
    assert seen is not None and seen.until == NOW + 7.5
    assert limit_seen("RESOURCE_EXHAUSTED", NOW, UTC) is not None


def test_an_agents_own_words_about_rate_limits_are_not_a_limit() -> None:
    code = "def test_rate_limit_returns_429():\n    assert limiter.rate_limit() == 429\nok"
    assert limit_seen(code, NOW, UTC) is None
    assert limit_seen("", NOW, UTC) is None


def test_the_backoff_grows_with_each_limit_in_a_row_up_to_its_cap() -> None:
    assert [pause_backoff(n, 60, 600) for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 480, 600]


# ---- the scheduler: a paused runtime's beads wait, the others go on -----------------------


@pytest.fixture
def two_runtimes(ledger: Ledger) -> Scheduler:
    """Rig web runs codex, rig api runs the script runtime."""
    add_rig(ledger, "web", "gt")
    add_rig(ledger, "api", "ap")
    return Scheduler(ledger, TownConfig.model_validate({"rigs": {"web": {"runtime": "codex"}}}))


def limited_on_web(ledger: Ledger, sched: Scheduler, dispatcher: RecordingDispatcher) -> str:
    bead = ledger.beads.create("web work", rig="web", slung=True)["id"]
    sched.reconcile(dispatcher)
    (agent,) = [a for a in ledger.agents.list() if a["hook"] == bead]
    text = "You’ve hit your usage limit. Try again at 3:26 AM."
    act_on(sched, RateLimited(agent, until=ledger.now() + 3600, text=text), dispatcher)
    return bead


def test_a_rate_limited_verdict_pauses_the_runtime_requeues_and_stops_the_session(
    ledger: Ledger, two_runtimes: Scheduler
) -> None:
    dispatcher = RecordingDispatcher()
    bead = limited_on_web(ledger, two_runtimes, dispatcher)
    b = ledger.beads.get(bead)
    assert b is not None
    assert (b["status"], b["assignee"], b["failures"]) == (vocab.OPEN, None, 0)
    assert "hit your usage limit" in (b["last_error"] or "")
    assert dispatcher.sessions == set() and len(dispatcher.stopped) == 1
    (agent,) = ledger.agents.list()
    assert (agent["status"], agent["hook"]) == (vocab.AGENT_IDLE, None)
    pause = two_runtimes.pauses.active()["codex"]
    assert (pause["until"], pause["shown"], pause["bead"]) == (ledger.now() + 3600, True, bead)
    kinds = [e["kind"] for e in ledger.state.recent(limit=5)]
    assert "runtime_paused" in kinds and "rate_limited" in kinds
    assert "agent_died" not in kinds and "requeued" not in kinds  # no attempt spent


def test_a_paused_runtimes_beads_wait_while_other_runtimes_dispatch_then_resume(
    ledger: Ledger, two_runtimes: Scheduler, clock: Clock
) -> None:
    dispatcher = RecordingDispatcher()
    bead = limited_on_web(ledger, two_runtimes, dispatcher)
    other = ledger.beads.create("api work", rig="api", slung=True)["id"]
    more_web = ledger.beads.create("more web work", rig="web", slung=True)["id"]
    report = two_runtimes.reconcile(dispatcher)
    assert [a.bead_id for a in report.started] == [other]
    placed = two_runtimes.place(more_web)
    assert placed["queued"] and "runtime codex is paused until" in placed["reason"]
    assert "gt runtime resume codex" in two_runtimes.why_waiting(bead)
    clock.advance(3599)
    assert two_runtimes.reconcile(dispatcher).started == []
    clock.advance(2)
    report = two_runtimes.reconcile(dispatcher)
    assert {a.bead_id for a in report.started} == {bead, more_web}
    b = ledger.beads.get(bead)
    assert b is not None and b["failures"] == 0  # the limit cost no attempt
    assert two_runtimes.pauses.active() == {}
    resumed = [e for e in ledger.state.recent(limit=20) if e["kind"] == "runtime_resumed"]
    assert [e["data"] for e in resumed] == [{"runtime": "codex", "lifted": False}]


def test_without_a_reset_time_the_pause_is_a_backoff_that_grows_with_each_limit(
    ledger: Ledger, two_runtimes: Scheduler, clock: Clock
) -> None:
    dispatcher = RecordingDispatcher()
    bead = ledger.beads.create("web work", rig="web", slung=True)["id"]
    waits = []
    for _ in range(3):
        two_runtimes.reconcile(dispatcher)
        agent = ledger.agents.get(ledger.beads.get(bead)["assignee"])  # type: ignore[index, arg-type]
        assert agent is not None, "the bead was dispatched again after the pause"
        act_on(two_runtimes, RateLimited(agent, None, "Request rejected (429)"), dispatcher)
        pause = two_runtimes.pauses.active()["codex"]
        waits.append(pause["until"] - ledger.now())
        clock.advance(pause["until"] - ledger.now() + 1)
    assert waits == [BACKOFF_BASE, 2 * BACKOFF_BASE, 4 * BACKOFF_BASE]
    assert ledger.beads.get(bead)["failures"] == 0  # type: ignore[index]


def test_a_second_agent_hitting_the_same_window_does_not_shorten_the_pause(
    ledger: Ledger, two_runtimes: Scheduler
) -> None:
    dispatcher = RecordingDispatcher()
    limited_on_web(ledger, two_runtimes, dispatcher)
    until = two_runtimes.pauses.active()["codex"]["until"]
    two_runtimes.pauses.pause("codex", shown_until=None, reason="429", bead=None)
    assert two_runtimes.pauses.active()["codex"]["until"] == until


def test_a_stale_limit_report_changes_nothing(ledger: Ledger, two_runtimes: Scheduler) -> None:
    dispatcher = RecordingDispatcher()
    bead = ledger.beads.create("web work", rig="web", slung=True)["id"]
    two_runtimes.reconcile(dispatcher)
    (agent,) = ledger.agents.list()
    ledger.beads.close(bead)
    act_on(two_runtimes, RateLimited(agent, None, "Request rejected (429)"), dispatcher)
    assert two_runtimes.pauses.active() == {}


# ---- a person sees the pauses and lifts one -----------------------------------------------


def test_gt_status_and_gt_runtime_show_a_pause_and_resume_lifts_it(
    town: Town, ledger: Ledger
) -> None:
    add_rig(ledger, "web", "gt")
    sched = Scheduler(ledger, TownConfig())  # the town's default runtime: script
    bead = ledger.beads.create("work", rig="web", slung=True)["id"]
    dispatcher = RecordingDispatcher()
    sched.reconcile(dispatcher)
    (agent,) = ledger.agents.list()
    # the test clock is ahead of the real one that `gt` reads: the pause is in force there
    until = ledger.now() + 3600
    act_on(sched, RateLimited(agent, until, "Request rejected (429)"), dispatcher)

    status = gt("status", "--json", town=town)
    assert status.returncode == 0, status.stderr
    adapter(OUTPUTS["status"].shape).validate_json(status.stdout)
    (row,) = json.loads(status.stdout)["runtime_pauses"]
    assert (row["runtime"], row["bead"], row["shown"]) == ("script", bead, True)
    text = gt("status", town=town).stdout
    assert "! runtime script paused until" in text and "gt runtime resume script" in text
    listed = gt("runtime", "pauses", "--json", town=town)
    adapter(list[RuntimePause]).validate_json(listed.stdout)

    lifted = gt("runtime", "resume", "script", town=town)
    assert lifted.returncode == 0, lifted.stderr
    assert "takes work again" in lifted.stdout
    assert json.loads(gt("status", "--json", town=town).stdout)["runtime_pauses"] == []
    again = gt("runtime", "resume", "script", town=town)
    assert again.returncode != 0
    assert again.stderr.strip().splitlines() == [
        "gt: error: runtime 'script' is not paused (paused now: none)"
    ]


# ---- the app: the header and Problems -----------------------------------------------------


def test_the_app_shows_a_paused_runtime_in_its_header_and_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gtown = build_town(tmp_path, monkeypatch)
    with gtown.ledger() as led, led.transaction():
        RuntimePauses(led).pause(
            "codex", shown_until=None, reason="Request rejected (429)", bead=None
        )

    async def look() -> tuple[str, list[dict[str, Any]]]:
        app = gtown.app()
        async with app.run_test(size=(200, 50)) as pilot:
            await settle(pilot)
            snap = await read_ledger(app, problems)
            return str(app.title), snap

    title, found = asyncio.run(look())
    assert title == "Gas Town · paused: codex"
    (paused,) = [p for p in found if p["kind"] == "paused"]
    assert paused["id"] == "codex" and "(backoff): Request rejected (429)" in paused["text"]


def test_a_reset_shown_as_this_very_minute_is_its_end_not_tomorrow() -> None:
    # codex shows minutes only: a window resetting 20 s from now reads as this minute
    seen = limit_seen("You’ve hit your usage limit. Try again at 2:26 AM.", NOW + 40, UTC)
    assert seen is not None and seen.until == at(2026, 11, 30, 2, 27)


# ---- the real codex CLI: a usage limit pauses its runtime while another keeps landing -----


@pytest.mark.slow
def test_real_codex_usage_limit_pauses_its_rig_while_script_beads_land(
    real_town_factory: Any, tmp_path: Path
) -> None:
    from engine.rig_setup import add_rig as clone_rig
    from tests.agent_clis import RUN_MARKER, _processes_with, agent_cli, codex_env
    from tests.model_servers import Fault, OpenAIResponsesServer, Script, ToolCall, Turn

    codex = str(agent_cli("codex"))
    limit = Fault("usage_limit", retry_after_s=2 * 3600)
    script = Script([Turn("", (ToolCall("exec_command", {"cmd": "true"}),), fault=limit)])
    marker = f"limits-{tmp_path.name}"
    with OpenAIResponsesServer(script) as server:
        env = codex_env(tmp_path / "codex-home", server.url, tmp_path)
        env[RUN_MARKER] = marker  # to find every process the CLI started, afterwards
        rt = real_town_factory(
            {
                "runtime": {
                    "codexcli": {
                        "argv": [
                            codex,
                            "exec",
                            "--json",
                            "--skip-git-repo-check",
                            "--dangerously-bypass-approvals-and-sandbox",
                            "{prompt}",
                        ],
                        "set_env": {k: v for k, v in env.items() if k != "PATH"},
                    }
                },
                "rigs": {"web": {"runtime": "codexcli"}},
            }
        )
        clone_rig(rt.town, rt.ledger, "api", str(rt.source), prefix="ap", capabilities=[], gates=[])
        try:
            limited = rt.ledger.beads.create("codex work", rig="web", slung=True)["id"]
            rt.drive(lambda: "codexcli" in rt.scheduler.pauses.active(), timeout=90)
            landed = [
                rt.ledger.beads.create(f"script work {i}", rig="api", slung=True)["id"]
                for i in range(2)
            ]
            rt.drive(
                lambda: all(rt.ledger.beads.get(b)["status"] != vocab.OPEN for b in landed),  # type: ignore[index]
                timeout=60,
            )
        finally:
            rt.fleet.tmux.kill_server()
    assert [r.status for r in server.main_requests()] == [429]
    b = rt.ledger.beads.get(limited)
    assert b is not None and (b["status"], b["failures"], b["assignee"]) == (vocab.OPEN, 0, None)
    pause = rt.scheduler.pauses.active()["codexcli"]
    # codex shows the reset to the minute, in local time: within the 2 h window's last minute
    assert pause["shown"] and 2 * 3600 - 120 < pause["until"] - rt.ledger.now() <= 2 * 3600
    assert "usage limit" in pause["reason"]
    # the window ends (a person lifts it here: two hours is long): codex's bead goes again
    rt.scheduler.pauses.lift("codexcli", actor="test")
    rt.reconcile()
    assert rt.ledger.beads.get(limited)["status"] != vocab.OPEN  # type: ignore[index]
    # stopping a session the product's way leaves none of the CLI's processes behind
    # (a bare tmux kill does not: codex's node wrapper outlives its pane for a while)
    for agent in rt.fleet.alive() or ():
        rt.fleet.stop(agent)
    rt.fleet.tmux.kill_server()
    assert _processes_with(marker) == {}
