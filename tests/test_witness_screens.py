"""The witness reads the agents' screens (captures of the real CLIs, tests/screens/fixtures):
two idle readings before idle, Codex streaming is not idle, known dialogs answered with their
rule's keys, an unknown question raised once as "needs you" with no key sent and no nudge."""

from __future__ import annotations

from pathlib import Path

from engine import vocab
from engine.config import TownConfig, WitnessSettings
from engine.polecats.screens import ENTER, RULES
from engine.polecats.witness import (
    NEEDS_YOU_AFTER,
    DialogDue,
    NeedsYou,
    RateLimited,
    Witness,
    screen_idle,
)
from engine.records import Agent
from engine.runtime_specs import RuntimeSettings
from engine.scheduler.reconciler import Scheduler
from tests.conftest import add_rig
from tests.recording import RecordingDispatcher

FIXTURES = Path(__file__).parent / "screens" / "fixtures"
WITNESS = WitnessSettings(stall_seconds=60, gupp_seconds=600, ladder_seconds=30, max_restarts=1)
# A question no rule knows, in Claude Code's own frame (its prompt box is gone).
UNKNOWN_QUESTION = """\
 Claude Code wants to know something new

 Which colour should the button be?
 ❯ 1. Red
   2. Blue
"""


def screen(cli: str, name: str) -> str:
    return (FIXTURES / f"{cli}-{RULES[cli].version}" / f"{name}.txt").read_text()


class ScreenDispatcher(RecordingDispatcher):
    """Sessions that show what a test puts on them; counts captures, records keys."""

    def __init__(self, ledger) -> None:
        super().__init__()
        self.ledger = ledger
        self.showing: dict[str, str] = {}
        self.captures: list[str] = []
        self.keys: list[tuple[str, tuple[str, ...]]] = []
        # like the fleet's pane log: it grows when the screen changes
        self.last: dict[str, tuple[str, float]] = {}

    def screens(self, agents: list[Agent]) -> dict[str, str]:
        self.captures += [a["id"] for a in agents]
        for a in agents:
            text = self.showing.get(a["id"])
            if text is not None and self.last.get(a["id"], ("",))[0] != text:
                self.last[a["id"]] = (text, self.ledger.now())
        return {a["id"]: self.showing[a["id"]] for a in agents if a["id"] in self.showing}

    def progress_marker(self, agent: Agent) -> float | None:
        return self.last.get(agent["id"], ("", None))[1]

    def send_keys(self, agent: Agent, keys: tuple[str, ...]) -> None:
        self.keys.append((agent["id"], keys))


def town(ledger, runtime: str, beads: int = 1):
    add_rig(ledger, "web", "gt")
    config = TownConfig(witness=WITNESS, runtime=RuntimeSettings(default=runtime))
    sched = Scheduler(ledger, config)
    dispatcher = ScreenDispatcher(ledger)
    for n in range(beads):
        ledger.beads.create(f"work {n}", rig="web", slung=True)
    sched.reconcile(dispatcher)
    agents = [a for a in ledger.agents.list() if a["hook"]]
    assert len(agents) == beads and all(a["runtime"] == runtime for a in agents)
    return sched, dispatcher, [a["id"] for a in agents]


def tick(sched, dispatcher, clock, seconds: float = 5.0) -> None:
    clock.advance(seconds)
    sched.reconcile(dispatcher)


def test_idle_only_after_two_idle_readings_in_a_row(ledger, clock):
    sched, dispatcher, (agent,) = town(ledger, "claude")
    dispatcher.showing[agent] = screen("claude", "idle-done-1")
    tick(sched, dispatcher, clock)
    assert not screen_idle(ledger.agents.require(agent))
    tick(sched, dispatcher, clock)
    assert screen_idle(ledger.agents.require(agent))
    dispatcher.showing[agent] = screen("claude", "working-tool-1")
    tick(sched, dispatcher, clock)
    assert not screen_idle(ledger.agents.require(agent))
    assert ledger.agents.require(agent)["status"] == vocab.AGENT_WORKING


def test_one_capture_per_live_agent_per_tick(ledger, clock):
    sched, dispatcher, agents = town(ledger, "codex", beads=3)
    for agent in agents:
        dispatcher.showing[agent] = screen("codex", "working-tool-1")
    dispatcher.captures.clear()
    tick(sched, dispatcher, clock)
    assert sorted(dispatcher.captures) == sorted(agents)
    dispatcher.kill(agents[0])  # a dead session is not captured
    dispatcher.captures.clear()
    Witness(ledger, WITNESS, dispatcher).patrol(dispatcher.alive())
    assert sorted(dispatcher.captures) == sorted(agents[1:])


def test_runtimes_without_screen_rules_are_not_captured(ledger, clock):
    sched, dispatcher, _ = town(ledger, "script")
    tick(sched, dispatcher, clock)
    assert dispatcher.captures == []


def test_codex_streaming_text_with_its_marker_gone_is_never_idle(ledger, clock):
    sched, dispatcher, (agent,) = town(ledger, "codex")
    working = screen("codex", "working-tool-1")
    without_marker = "\n".join(ln for ln in working.splitlines() if "esc to interrupt" not in ln)
    for n in range(12):  # a minute of streaming: the marker gone, the text growing
        dispatcher.showing[agent] = without_marker + "\n• streamed so far:" + " word" * n
        tick(sched, dispatcher, clock)
        now = ledger.agents.require(agent)
        assert not screen_idle(now) and now["status"] == vocab.AGENT_WORKING
    assert ledger.beads.list(bead_type="escalation") == []
    dispatcher.showing[agent] = screen("codex", "idle-done-1")
    tick(sched, dispatcher, clock)
    tick(sched, dispatcher, clock)
    assert screen_idle(ledger.agents.require(agent))


def test_known_dialogs_are_answered_with_their_rules_keys(ledger, clock):
    sched, dispatcher, (agent,) = town(ledger, "claude")
    dispatcher.showing[agent] = screen("claude", "dialog-trust-1")
    tick(sched, dispatcher, clock)
    dispatcher.showing[agent] = screen("claude", "dialog-bypass-1")
    tick(sched, dispatcher, clock)
    dispatcher.showing[agent] = screen("claude", "idle-start-1")
    tick(sched, dispatcher, clock)
    assert dispatcher.keys == [(agent, (ENTER,)), (agent, ("2",))]
    answered = [e for e in ledger.state.events_after(0) if e["kind"] == "dialog_answered"]
    assert [e["data"]["dialog"] for e in answered] == ["workspace-trust", "bypass-permissions"]
    assert ledger.agents.require(agent)["status"] == vocab.AGENT_WORKING


def test_a_dialog_that_stays_after_its_answers_needs_you(ledger, clock):
    sched, dispatcher, (agent,) = town(ledger, "codex")
    dispatcher.showing[agent] = screen("codex", "dialog-model-1")
    for _ in range(6):
        tick(sched, dispatcher, clock)
    assert dispatcher.keys == [(agent, ("2",))] * 3
    (escalation,) = ledger.beads.list(bead_type="escalation")
    assert "model-migration dialog is still there" in escalation["title"]


def test_an_unknown_question_needs_you_once_and_gets_no_keys_and_no_nudge(ledger, clock):
    sched, dispatcher, (agent,) = town(ledger, "claude")
    dispatcher.showing[agent] = UNKNOWN_QUESTION
    tick(sched, dispatcher, clock)
    assert ledger.agents.require(agent)["status"] == vocab.AGENT_WORKING  # may still move
    for _ in range(int(NEEDS_YOU_AFTER / 5) + 200):  # far past the stall and GUPP windows
        tick(sched, dispatcher, clock)
    verdicts = Witness(ledger, WITNESS, dispatcher).patrol(dispatcher.alive())
    assert verdicts == []  # raised once; nothing more to do while it waits
    held = ledger.agents.require(agent)
    assert held["status"] == vocab.AGENT_STALLED and held["info"]["screen"]["needs_you"]
    (escalation,) = ledger.beads.list(bead_type="escalation")
    assert escalation["title"].startswith(f"{held['name']} needs you")
    assert "Which colour should the button be?" in escalation["body"]
    assert dispatcher.keys == []
    assert [i for i in ledger.inbox.pending() if i["kind"] == "nudge"] == []
    kinds = [e["kind"] for e in ledger.state.events_after(0)]
    assert kinds.count("agent_needs_you") == 1 and "witness_nudged" not in kinds
    assert dispatcher.stopped == []
    # The person answered it: the CLI works again, the witness takes it back.
    dispatcher.showing[agent] = screen("claude", "working-tool-1")
    tick(sched, dispatcher, clock)
    back = ledger.agents.require(agent)
    assert back["status"] == vocab.AGENT_WORKING and not back["info"]["screen"]["needs_you"]


def test_a_permission_question_needs_you_at_once(ledger, clock):
    sched, dispatcher, (agent,) = town(ledger, "gemini")
    dispatcher.showing[agent] = screen("gemini", "needs_you-approval-1")
    tick(sched, dispatcher, clock)
    assert ledger.agents.require(agent)["status"] == vocab.AGENT_STALLED
    (escalation,) = ledger.beads.list(bead_type="escalation")
    assert "approval" in escalation["title"] and dispatcher.keys == []


def test_a_rate_limit_on_the_screen_is_a_verdict_with_its_reset_time(ledger, clock):
    _, dispatcher, (agent,) = town(ledger, "codex")
    dispatcher.showing[agent] = screen("codex", "rate_limited-usagelimit-1")
    verdicts = Witness(ledger, WITNESS, dispatcher).patrol(dispatcher.alive())
    (limited,) = [v for v in verdicts if isinstance(v, RateLimited)]
    assert limited.until is not None and limited.until > ledger.now() - 86400
    assert limited.text.startswith("■ You’ve hit your usage limit")
    assert not [v for v in verdicts if isinstance(v, DialogDue | NeedsYou)]


def test_codex_back_at_its_prompt_after_gt_done_ends_its_session_in_two_ticks(ledger, clock):
    """Codex 0.171.0 after a closing turn under a second: "Worked for <1s" above its composer
    (a capture of the real CLI after `gt done`) reads idle, so the session ends by the
    screen, not by finish_grace_seconds."""
    from tests.test_finishing import finish

    sched, dispatcher, (agent,) = town(ledger, "codex")
    dispatcher.showing[agent] = screen("codex", "working-tool-1")
    tick(sched, dispatcher, clock)
    finish(ledger, agent)
    dispatcher.showing[agent] = screen("codex", "idle-after-gt-done-1")
    tick(sched, dispatcher, clock, seconds=2)
    assert dispatcher.stopped == []  # one idle reading is not idle
    tick(sched, dispatcher, clock, seconds=2)
    assert dispatcher.stopped == [agent]
    assert WITNESS.finish_grace_seconds > 4  # two 2 s ticks: well inside the grace
