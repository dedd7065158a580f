"""Real CLIs whose model fails them, in a real town:

- crash: the model server answers 500 until the CLI gives up (Claude Code with
  CLAUDE_CODE_MAX_RETRIES=1 from `[runtime.claude] set_env`; Codex after its own retries;
  Gemini CLI after the 3 attempts its agent settings allow, engine/polecats/agent_homes.py).
  Claude Code 2.1.197 then sits idle at its prompt, alive, with "API Error: 500 …" above
  it; Codex 0.171.0 shows "■ We’re currently experiencing high demand …"; Gemini CLI 0.61.0
  a box "We are currently experiencing high demand." with "1. Keep trying / 2. Stop". The
  witness reads that as crashed, and the bead's failure (last_error, the agent_died event,
  the escalation) carries the CLI's own line.
- rate limit: Codex's model answers usage_limit_reached; the codex bead goes back to open
  without spending an attempt and its runtime pauses, while a claude bead lands meanwhile;
  after the pause (town.toml's [scheduler] runtime_pause_* settings make it seconds) the
  codex bead is dispatched again and lands.

The fast tests below check the same two town-side pieces without a real CLI: the witness
turns a crashed screen (a capture of the real CLI) into a failure, and the pause settings
are read from town.toml.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from engine import vocab
from engine.adapters.tmux import Tmux, socket_name
from engine.config import SchedulerSettings, TownConfig, WitnessSettings
from engine.ledger import Ledger
from engine.scheduler.reconciler import Scheduler
from engine.views.town_snapshot import problems
from tests.agent_clis import CliName
from tests.model_servers import Fault, Script, ScriptedModelServer, ToolCall, Turn
from tests.model_servers.town_scripts import (
    BROKEN,
    FIXED,
    claude_bead_script,
    codex_bead_script,
)
from tests.test_real_agents_convoy import RealTown, landed_calc, new_town
from tests.test_real_agents_e2e import CASES
from tests.test_witness_screens import screen, tick, town

# ---- fast: the town's side ------------------------------------------------------------


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini"])
def test_a_crashed_screen_read_twice_fails_the_attempt_with_the_clis_line(
    cli: str, ledger: Ledger, clock: Any
) -> None:
    sched, dispatcher, (agent,) = town(ledger, cli)
    sched.config = sched.config.model_copy(update={"scheduler": SchedulerSettings(max_attempts=1)})
    sched.settings = sched.config.scheduler
    bead = ledger.agents.require(agent)["hook"]
    assert bead
    dispatcher.showing[agent] = screen(cli, "crashed-server-error-1")
    said = {
        "claude": "API Error: 500 Internal server error",
        "codex": "■ We’re currently",
        "gemini": "We are currently experiencing high demand.",
    }[cli]
    tick(sched, dispatcher, clock)  # once: a CLI may print an error and go on retrying
    assert ledger.beads.require(bead)["status"] != vocab.FAILED
    tick(sched, dispatcher, clock)
    failed = ledger.beads.require(bead)
    assert failed["status"] == vocab.FAILED, failed
    assert said in (failed["last_error"] or "")
    (died,) = [e for e in ledger.state.recent(bead_id=bead) if e["kind"] == "agent_died"]
    assert said in died["data"]["reason"]
    (esc,) = ledger.beads.list(bead_type="escalation")
    assert said in esc["body"]
    assert agent not in dispatcher.alive()  # its session was stopped


def test_pause_settings_come_from_town_toml_strictly(ledger: Ledger) -> None:
    settings = SchedulerSettings(runtime_pause_base_seconds=3, runtime_pause_max_seconds=6)
    sched = Scheduler(ledger, TownConfig(scheduler=settings, witness=WitnessSettings()))
    now = ledger.now()
    waits = []
    for _ in range(3):
        entry = sched.pauses.pause(
            "codex",
            shown_until=None,
            reason="429",
            bead=None,
            base=settings.runtime_pause_base_seconds,
            longest=settings.runtime_pause_max_seconds,
        )
        waits.append(entry["until"] - now)
        sched.pauses.lift("codex", actor=None)  # lifting forgets strikes: none are kept
    assert waits == [3, 3, 3]
    with pytest.raises(ValidationError):
        SchedulerSettings(runtime_pause_base_seconds=0)
    with pytest.raises(ValidationError):
        SchedulerSettings.model_validate({"runtime_pause_seconds": 5})


# ---- slow: the real CLIs ----------------------------------------------------------------


@pytest.fixture
def towns() -> Iterator[list[RealTown]]:
    made: list[RealTown] = []
    yield made
    for rt in made:
        rt.stop()


def failing_server(cli: CliName) -> ScriptedModelServer:
    return CASES[cli].server(Script([Turn("Hi.", fault=Fault("server_error"))]))


@pytest.mark.slow
@pytest.mark.parametrize("cli", ["claude", "codex", "gemini"])
def test_a_real_cli_that_gives_up_on_500s_fails_its_bead_with_its_own_last_line(
    cli: CliName, tmp_path: Path, towns: list[RealTown]
) -> None:
    said = {
        "claude": "API Error: 500",
        "codex": "We’re currently experiencing high demand",
        "gemini": "We are currently experiencing high demand.",
    }[cli]
    rt = new_town(
        tmp_path,
        {"web": cli},
        {cli: lambda _rt: failing_server(cli)},
        scheduler={"max_attempts": 1},
        set_env={"claude": {"CLAUDE_CODE_MAX_RETRIES": "1"}},
    )
    towns.append(rt)
    rt.start_engine()
    (slung,) = rt.gt_json("sling", "--title", "Fix add", "--rig", "web", "--body", "Fix it.")
    bead = slung["id"]
    rt.wait(lambda: rt.bead(bead)["status"] == vocab.FAILED, 180)
    failed = rt.bead(bead)
    assert said in (failed["last_error"] or ""), rt.state()
    events = rt.gt_json("events", "--bead", bead)
    (died,) = [e for e in events if e["kind"] == "agent_died"]
    assert said in died["data"]["reason"]
    (esc,) = rt.ledger.beads.list(bead_type="escalation")
    assert said in esc["body"]
    # it asked more than once (its retries) and never got an answer
    server = rt.servers[cli]
    assert len(server.main_requests()) >= 2 and all(r.status == 500 for r in server.main_requests())
    rt.wait(lambda: not rt.leftovers(), 30)
    assert "Traceback" not in rt.engine_log.read_text()


@pytest.mark.slow
def test_a_usage_limit_pauses_codex_while_claude_lands_and_codex_resumes_after_the_window(
    tmp_path: Path, towns: list[RealTown]
) -> None:
    # Codex's bead is created first: its polecat is Toast, Claude Code's Maple.
    rigs: dict[str, CliName] = {"api": "codex", "web": "claude"}
    limited = codex_bead_script()
    limited.turns[0] = replace(limited.turns[0], fault=Fault("usage_limit", retry_after_s=1))
    rt = new_town(
        tmp_path,
        rigs,
        {
            "codex": lambda _rt: CASES["codex"].server(limited),
            "claude": lambda rt: CASES["claude"].server(
                claude_bead_script(rt.worktree("web", "Maple"))
            ),
        },
        scheduler={"runtime_pause_base_seconds": 4, "runtime_pause_max_seconds": 8},
    )
    towns.append(rt)
    rt.start_engine()
    ids = {}

    def sling(rig: str) -> None:
        (slung,) = rt.gt_json("sling", "--title", f"Fix add in {rig}", "--rig", rig)
        ids[rig] = slung["id"]

    sling("api")
    codex = rt.servers["codex"]
    # Codex shows "■ You’ve hit your usage limit. Try again at <time>." at once; the
    # witness reads it, the runtime pauses and the bead goes back to open.
    rt.wait(lambda: bool(_events(rt, "runtime_paused")), 120)
    # Only now is Claude Code's bead slung: it starts, works and lands while codex is paused.
    sling("web")
    # Claude Code's bead lands while codex's keeps hitting the limit (every new session
    # meets it again, each pause longer, never an attempt spent).
    rt.wait(lambda: rt.bead(ids["web"])["status"] == vocab.CLOSED, 240)
    assert landed_calc(rt, "web") == FIXED
    assert landed_calc(rt, "api") == BROKEN
    waiting = rt.bead(ids["api"])
    assert waiting["status"] != vocab.CLOSED and waiting["failures"] == 0, rt.state()
    assert all(r.status == 429 for r in codex.main_requests()), rt.state()
    paused = _events(rt, "runtime_paused")
    assert {e["data"]["runtime"] for e in paused} == {"codex"}
    assert "usage limit" in paused[0]["data"]["reason"]
    # The window passes (the model answers again): dispatch resumes by itself and it lands.
    limited.turns[0] = replace(limited.turns[0], fault=None)
    rt.wait(lambda: rt.bead(ids["api"])["status"] == vocab.CLOSED, 240)
    assert landed_calc(rt, "api") == FIXED
    landed = rt.bead(ids["api"])
    assert landed["failures"] == 0, landed["last_error"]
    assert [e["data"]["runtime"] for e in _events(rt, "runtime_resumed")][:1] == ["codex"]
    assert any(r.status == 200 for r in codex.main_requests())
    rt.wait(lambda: not rt.leftovers(), 150)  # at the latest: finish_grace_seconds
    assert "Traceback" not in rt.engine_log.read_text()


def _events(rt: RealTown, kind: str) -> list[dict[str, Any]]:
    out = json.loads(rt.gt("events", "--json", "--limit", "500").stdout)
    return [e for e in out if e["kind"] == kind]


@pytest.mark.slow
def test_a_real_question_the_town_does_not_know_needs_you_and_gets_no_keys(
    tmp_path: Path, towns: list[RealTown]
) -> None:
    """Claude Code without --dangerously-skip-permissions: its Bash tool asks "Do you want
    to proceed?". The witness raises "needs you" (the agent stalled, in Problems, an
    escalation to the mayor quoting the screen), and types nothing into it: no answer, no
    nudge, the command never runs and the screen stays as it was."""
    call = ToolCall("Bash", {"command": TOUCH, "description": "Make a file"})
    script = Script([Turn("I will make a file.", (call,)), Turn("Made it.")])
    rt = new_town(
        tmp_path, {"web": "claude"}, {"claude": lambda _rt: CASES["claude"].server(script)}
    )
    towns.append(rt)
    config = Path(rt.town.config_path)
    # the preset without its autonomy flag: the CLI asks before each command
    table = "[runtime.claude]\n"
    text = config.read_text().replace(table, table + 'argv = ["claude", "{prompt}"]\n', 1)
    config.write_text(text)
    rt.start_engine()
    (slung,) = rt.gt_json("sling", "--title", "Make a file", "--rig", "web", "--body", "Do it.")
    rt.wait(lambda: bool(rt.ledger.beads.list(bead_type="escalation")), 120)
    (esc,) = rt.ledger.beads.list(bead_type="escalation")
    assert esc["title"] == "Toast needs you: its screen asks for a person (permission)", esc
    assert "Do you want to proceed?" in esc["body"] and "gt attach Toast" in esc["body"]
    tmux = Tmux(socket_name(rt.town.root))
    shown = tmux.capture("web+Toast")
    assert "Do you want to proceed?" in shown
    time.sleep(12)  # several witness ticks, past the nudge-on-idle window
    agent = rt.ledger.agents.require("web/polecats/Toast")
    assert agent["status"] == vocab.AGENT_STALLED and agent["info"]["screen"]["needs_you"]
    assert agent["hook"] == slung["id"]
    assert any(p["kind"] == "stalled" and p["id"] == "Toast" for p in problems(rt.ledger))
    assert any(p["kind"] == "escalation" for p in problems(rt.ledger))
    # nothing typed: the question is still there, unanswered, the same as before
    assert _question(tmux.capture("web+Toast")) == _question(shown)
    assert not Path(rt.worktree("web", "Toast"), "made-by-agent").exists()
    assert [r.turn for r in rt.servers["claude"].main_requests()] == [0], rt.state()
    kinds = [e["kind"] for e in rt.gt_json("events", "--limit", "500")]
    assert kinds.count("agent_needs_you") == 1, kinds
    assert "witness_nudged" not in kinds and "dialog_answered" not in kinds
    assert len(rt.ledger.beads.list(bead_type="escalation")) == 1
    assert "Traceback" not in rt.engine_log.read_text()


TOUCH = "touch made-by-agent"


def _question(screen: str) -> list[str]:
    """The permission box: from the command it asks about to its footer (the spinner and
    timers above it move by themselves)."""
    lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
    start = max(i for i, line in enumerate(lines) if line.strip() == "Bash command")
    return lines[start:]
