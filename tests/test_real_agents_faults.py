"""Real CLIs whose model fails them, in a real town:

- crash: the model server answers 500 until the CLI gives up (Claude Code with
  CLAUDE_CODE_MAX_RETRIES=1 from `[runtime.claude] set_env`; Codex after its own retries).
  Claude Code 2.1.197 then sits idle at its prompt, alive, with "API Error: 500 …" above
  it; Codex 0.171.0 shows "■ We’re currently experiencing high demand …". The witness reads
  that as crashed, and the bead's failure (last_error, the agent_died event, the escalation)
  carries the CLI's own line.
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
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from engine import vocab
from engine.config import SchedulerSettings, TownConfig, WitnessSettings
from engine.ledger import Ledger
from engine.scheduler.reconciler import Scheduler
from tests.agent_clis import CliName
from tests.model_servers import Fault, Script, ScriptedModelServer, Turn
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


@pytest.mark.parametrize("cli", ["claude", "codex"])
def test_a_crashed_screen_read_twice_fails_the_attempt_with_the_clis_line(
    cli: str, ledger: Ledger, clock: Any
) -> None:
    sched, dispatcher, (agent,) = town(ledger, cli)
    sched.config = sched.config.model_copy(update={"scheduler": SchedulerSettings(max_attempts=1)})
    sched.settings = sched.config.scheduler
    bead = ledger.agents.require(agent)["hook"]
    assert bead
    dispatcher.showing[agent] = screen(cli, "crashed-server-error-1")
    said = {"claude": "API Error: 500 Internal server error", "codex": "■ We’re currently"}[cli]
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
@pytest.mark.parametrize("cli", ["claude", "codex"])
def test_a_real_cli_that_gives_up_on_500s_fails_its_bead_with_its_own_last_line(
    cli: CliName, tmp_path: Path, towns: list[RealTown]
) -> None:
    said = {"claude": "API Error: 500", "codex": "experiencing high demand"}[cli]
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
    for rig in rigs:
        (slung,) = rt.gt_json("sling", "--title", f"Fix add in {rig}", "--rig", rig)
        ids[rig] = slung["id"]
    codex = rt.servers["codex"]
    # Codex shows "■ You’ve hit your usage limit. Try again at <time>." at once; the
    # witness reads it, the runtime pauses and the bead goes back to open.
    rt.wait(lambda: bool(_events(rt, "runtime_paused")), 120)
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
