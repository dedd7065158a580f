"""The fleet reads an agent's token usage from the agent's own CLI home
(`<state>/homes/<rig>+<name>/<runtime>/`, engine/polecats/agent_homes.py), re-parsing it only
when a transcript changed."""

from __future__ import annotations

import json
from pathlib import Path

from engine.config import TownConfig
from engine.ledger import Ledger
from engine.polecats.agent_homes import home_path
from engine.polecats.fleet import TmuxFleet
from engine.timeutil import parse_iso
from engine.town import init_town
from engine.usage import SessionUsage
from tests.conftest import add_rig

START = "2026-11-30T04:25:29.691Z"


def claude_line(message_id: str, i: int, o: int, at: str = "2026-11-30T04:25:29.800Z") -> str:
    usage = {"input_tokens": i, "output_tokens": o, "cache_read_input_tokens": 1}
    message = {"id": message_id, "model": "claude-x", "usage": usage}
    line = {"type": "assistant", "sessionId": "s1", "message": message, "timestamp": at}
    return json.dumps(line) + "\n"


def test_the_fleet_reads_usage_from_the_agents_own_home(tmp_path: Path) -> None:
    town = init_town(str(tmp_path / "town"))
    with Ledger(town.ledger_target) as led:
        add_rig(led, "web", "gt")
        with led.transaction():
            agent = led.agents.allocate("web", "Toast", "claude")
        fleet = TmuxFleet(town, TownConfig(), led)
        home = Path(home_path(town.state_dir, "web+Toast", "claude"))
        assert fleet.usage(agent) == []  # no home yet: nothing, no error
        transcript = home / "projects" / "-work" / "s1.jsonl"
        transcript.parent.mkdir(parents=True)
        # Claude Code's first line of a session (no usage): its time is the session's start
        opened = {"type": "queue-operation", "sessionId": "s1", "timestamp": START}
        # one message of two blocks (one id, written twice), then a half-written line
        transcript.write_text(
            json.dumps(opened) + "\n" + claude_line("m1", 10, 2) * 2 + claude_line("m2", 5, 1)[:30]
        )
        started = parse_iso(START)
        assert fleet.usage(agent) == [
            SessionUsage("claude", "s1", "claude-x", 10, 2, 1, 0, started=started)
        ]
        with transcript.open("a") as fh:  # the CLI finishes the line: read again
            fh.write(claude_line("m2", 5, 1)[30:])
        assert fleet.usage(agent) == [
            SessionUsage("claude", "s1", "claude-x", 15, 3, 2, 0, started=started)
        ]
        with led.transaction():
            script = led.agents.allocate("web", "Nux", "script")
        assert fleet.usage(script) == []  # a runtime without a home layout records nothing
