"""Failures say why (issue 10, item 6): when an agent's session dies, the last lines it
printed (cleaned of terminal escapes, clipped) go with the bead's failure, its event, the
escalation and the engine log; when those lines are a rate or usage limit, the runtime
pauses instead and the bead loses no attempt."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from engine import vocab
from engine.config import SchedulerSettings, TownConfig
from engine.ledger import Ledger
from engine.records import Agent
from engine.scheduler.reconciler import Scheduler
from tests.conftest import add_rig, script_body
from tests.recording import RecordingDispatcher

CLAUDE_OFFLINE = [
    "\x1b[2J\x1b[H\x1b[1mWelcome to Claude Code\x1b[0m",
    "--- session started ---",
    "Checking connectivity...\r",
    "\x1b[31mUnable to connect to Anthropic services\x1b[0m",
    "Failed to connect to api.anthropic.com: ENOTFOUND",
]


class LoggedDispatcher(RecordingDispatcher):
    """Sessions with a log file each, as the tmux fleet keeps them."""

    def __init__(self, logs: Path) -> None:
        super().__init__()
        self.logs = logs

    def session_log(self, agent: Agent) -> str | None:
        return str(self.logs / f"{agent['name']}-{agent['attempt']}.log")

    def dies_saying(self, agent: Agent, lines: list[str]) -> None:
        path = self.session_log(agent)
        assert path
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.kill(agent["id"])


def working(ledger: Ledger, sched: Scheduler, dispatcher: LoggedDispatcher) -> tuple[str, Agent]:
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("work", rig="web", slung=True)["id"]
    sched.reconcile(dispatcher)
    (agent,) = ledger.agents.list()
    return bead, agent


def test_a_dead_sessions_last_lines_go_with_its_failure_event_escalation_and_log(
    ledger: Ledger, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sched = Scheduler(ledger, TownConfig(scheduler=SchedulerSettings(max_attempts=1)))
    dispatcher = LoggedDispatcher(tmp_path)
    bead, agent = working(ledger, sched, dispatcher)
    dispatcher.dies_saying(agent, CLAUDE_OFFLINE)
    with caplog.at_level(logging.WARNING, logger="gastown.scheduler"):
        report = sched.reconcile(dispatcher)
    assert report.recovered == [bead]
    b = ledger.beads.get(bead)
    assert b is not None and b["status"] == vocab.FAILED
    said = "Unable to connect to Anthropic services | Failed to connect to api.anthropic.com"
    assert said in (b["last_error"] or "")
    assert "\x1b" not in (b["last_error"] or "") and "started" not in (b["last_error"] or "")
    (died,) = [e for e in ledger.state.recent(bead_id=bead) if e["kind"] == "agent_died"]
    assert said in died["data"]["reason"]
    (esc,) = ledger.beads.list(bead_type="escalation")
    assert said in esc["body"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "its last lines:" in logged and "ENOTFOUND" in logged and "\x1b" not in logged


def test_a_session_that_died_on_a_usage_limit_pauses_its_runtime_and_spends_no_attempt(
    ledger: Ledger, tmp_path: Path
) -> None:
    sched = Scheduler(ledger, TownConfig())
    dispatcher = LoggedDispatcher(tmp_path)
    bead, agent = working(ledger, sched, dispatcher)
    # what `codex exec` prints as it exits on a usage limit (codex 0.171.0)
    dispatcher.dies_saying(agent, ["• Working", "■ You’ve hit your usage limit. Try again in 5m"])
    sched.reconcile(dispatcher)
    b = ledger.beads.get(bead)
    assert b is not None
    assert (b["status"], b["failures"]) == (vocab.OPEN, 0)
    assert sched.pauses.active()["script"]["until"] == ledger.now() + 300
    kinds = [e["kind"] for e in ledger.state.recent(bead_id=bead)]
    assert "rate_limited" in kinds and "agent_died" not in kinds
    assert sched.breaker.state()["state"] == "closed"


def test_a_session_that_printed_nothing_fails_with_the_plain_reason(
    ledger: Ledger, tmp_path: Path
) -> None:
    sched = Scheduler(ledger, TownConfig())
    dispatcher = LoggedDispatcher(tmp_path)
    bead, agent = working(ledger, sched, dispatcher)
    dispatcher.kill(agent["id"])  # no log file at all
    sched.reconcile(dispatcher)
    b = ledger.beads.get(bead)
    assert b is not None
    assert b["last_error"] == "the agent's session ended before it finished"


# ---- the real tmux fleet: a session's log is where its last words are ---------------------


@pytest.mark.skipif(not os.path.exists("/usr/bin/tmux"), reason="tmux is not installed")
def test_a_real_session_that_died_carries_its_last_lines(real_town) -> None:  # type: ignore[no-untyped-def]
    rt = real_town
    bead = rt.ledger.beads.create(
        "dies", rig="web", slung=True, body=script_body("fail Unable to connect to the gateway")
    )["id"]
    rt.drive(lambda: (rt.ledger.beads.get(bead) or {}).get("failures", 0) >= 1)
    b = rt.ledger.beads.get(bead)
    assert "failing: Unable to connect to the gateway" in (b["last_error"] or "")


@pytest.mark.skipif(not os.path.exists("/usr/bin/tmux"), reason="tmux is not installed")
def test_a_real_session_that_exited_on_a_rate_limit_pauses_its_runtime(real_town) -> None:  # type: ignore[no-untyped-def]
    rt = real_town
    bead = rt.ledger.beads.create(
        "limited",
        rig="web",
        slung=True,
        body=script_body("fail API Error: Request rejected (429) · rate limit"),
    )["id"]
    rt.drive(lambda: "script" in rt.scheduler.pauses.active())
    b = rt.ledger.beads.get(bead)
    assert (b["status"], b["failures"], b["assignee"]) == (vocab.OPEN, 0, None)
    rt.reconcile()
    assert rt.ledger.beads.get(bead)["status"] == vocab.OPEN  # waits for the pause
