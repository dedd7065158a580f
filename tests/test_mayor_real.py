"""The mayor on the real Claude Code CLI (agents/, pinned) against a scripted Anthropic server,
in a real town run by the real engine (a subprocess), polecats on the `script` runtime.

The person types "add a health endpoint to api and a status badge to web that needs it" into
the mayor's session → the scripted mayor writes a plan in its own folder and runs
`gt convoy create … --plan` and `gt sling` through its Bash tool → the beads exist with the
dependency, polecats work them, the convoy lands → its "landed" mail reaches the idle mayor,
whose report shows in its session log. The api polecat's question (`gt mail send mayor`)
reaches the mayor only once it is idle again (it was busy in a tool call), and the mayor's
answer arrives as mail to that polecat. Then the mayor's CLI is killed with kill -9: the
witness starts it again with a fresh context and its briefing, and records it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from engine.adapters.tmux import Tmux, socket_name
from engine.ledger import Ledger
from engine.mayor import session
from engine.polecats import proctree
from engine.town import init_town
from tests.agent_clis import agent_cli, pinned_version
from tests.app_support import run_async_tests
from tests.cli_support import gastown_argv
from tests.conftest import gt, make_source_repo
from tests.model_servers import AnthropicServer, Script, Turn
from tests.model_servers.script import ToolCall
from tests.test_real_agents_e2e import engine_env, toml_table, town_processes, wait_until

pytestmark = pytest.mark.slow

REQUEST = "add a health endpoint to api and a status badge to web that needs it"
QUESTION = "which-port-for-health"
ANSWER = "use-port-8080"

PLAN = '''cat > plan.toml <<'PLAN'
[[bead]]
key = "health"
title = "Add a /health endpoint"
rig = "api"
body = """
```gt-script
run gt mail send mayor which-port-for-health
write health.txt ok
commit "add /health"
```
"""

[[bead]]
key = "badge"
title = "Show a status badge that reads /health"
rig = "web"
needs = ["health"]
body = """
```gt-script
write badge.txt ok
commit "add the status badge"
```
"""
PLAN
gt convoy create "Health endpoint and status badge" --plan plan.toml --staged --json > convoy.json
'''

SLING = (
    'gt sling "$(python3 -c \'import json; print(json.load(open("convoy.json"))["id"])\')"'
    " && sleep 8"  # busy a while: the polecat's question arrives meanwhile
)


def bash(command: str) -> tuple[ToolCall, ...]:
    return (ToolCall("Bash", {"command": command, "description": "gt"}),)


TURNS = [
    Turn("Mayor ready."),  # 0: its briefing
    Turn("I will file this as a convoy.", bash(PLAN)),  # 1: the person's request
    Turn("", bash(SLING)),  # 2
    Turn("MAYOR FILED: health on api, then the badge on web; slung."),  # 3
    Turn("", bash(f"gt mail send {{sender}} {ANSWER}")),  # 4: the polecat's question
    Turn("MAYOR ANSWERED {sender}."),  # 5
    Turn("MAYOR REPORT: the convoy landed: /health on api, the badge on web."),  # 6
]
# The newest prompt names the part of the script to play (the model reads what it is told).
PHASES = {"You are the mayor": 0, REQUEST: 1, QUESTION: 4, "Convoy landed": 6}


class MayorServer(AnthropicServer):
    """Plays the part of the script the newest typed prompt calls for; a mail's sender is
    read from the nudge, as a model would read it."""

    def __init__(self) -> None:
        super().__init__(Script(TURNS, closing=Turn("Noted.")))
        self.sender = "?"
        self.phases: list[tuple[str, float]] = []  # (marker, when it was asked for)
        self.served: dict[int, float] = {}

    def answered_call_ids(self, body: Any) -> list[str]:
        messages = body.get("messages", []) if isinstance(body, dict) else []
        # Claude Code 2.1 puts "system" messages (agent lists, reminders) after the prompt
        said = [m for m in messages if m.get("role") in ("user", "assistant")]
        last = said[-1] if said else {}
        content = last.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        if last.get("role") != "user" or any(b.get("type") == "tool_result" for b in blocks):
            return super().answered_call_ids(body)
        text = " ".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        for marker, start in PHASES.items():
            if marker in text:
                self.phases.append((marker, time.time()))
                found = re.search(rf"from (\S+): {QUESTION}", text)
                if found:
                    self.sender = found.group(1)
                return [f"gt_{start - 1}_0"] if start else []
        return []

    def turn_reply(self, index: int, turn: Turn, path: str, body: Any) -> Any:
        self.served.setdefault(index, time.time())
        filled = replace(
            turn,
            text=turn.text.replace("{sender}", self.sender),
            tool_calls=tuple(
                replace(
                    c,
                    arguments={
                        **c.arguments,
                        "command": c.arguments["command"].replace("{sender}", self.sender),
                    },
                )  # type: ignore[dict-item]
                if isinstance(c.arguments, dict)
                else c
                for c in turn.tool_calls
            ),
        )
        return super().turn_reply(index, filled, path, body)


def at(iso_text: str) -> float:
    return datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp()


class MayorTown:
    """A town with two rigs of `script` polecats, its engine running headless, and a mayor
    on the real Claude Code CLI against the scripted server, started and idle at its
    prompt after its briefing."""

    def __init__(self, tmp_path: Path) -> None:
        agent_cli("claude")  # installed (or skipped: no npm)
        self.env = engine_env(tmp_path / "home")
        self.town = town = init_town(str(tmp_path / "town"))
        self.server = MayorServer().start()
        self.engine: subprocess.Popen[bytes] | None = None
        self.engine_log = tmp_path / "engine.log"
        self.ledger = Ledger(town.ledger_target)
        self.tmux = Tmux(socket_name(town.root))
        text = Path(town.config_path).read_text()
        values = {"ANTHROPIC_BASE_URL": self.server.url, "ANTHROPIC_AUTH_TOKEN": "scripted-token"}
        text = re.sub(r"^tick_seconds = .*$", "tick_seconds = 1", text, flags=re.MULTILINE)
        text += f'\n[mayor]\nruntime = "claude"\n[runtime.claude]\nset_env = {toml_table(values)}\n'
        text += "\n[witness]\nfinish_grace_seconds = 10\n"
        Path(town.config_path).write_text(text)
        for rig in ("api", "web"):
            src = make_source_repo(tmp_path / f"src-{rig}", {"README.md": f"{rig}\n"})
            done = gt("rig", "add", rig, str(src), "--prefix", rig, town=town, env=self.env)
            assert done.returncode == 0, done.stderr
        with self.engine_log.open("ab") as fh:
            self.engine = subprocess.Popen(
                [*gastown_argv(), "--engine-only", "--town", town.root],
                stdout=fh,
                stderr=fh,
                env=self.env,
            )

    def start_mayor(self) -> None:
        started = gt("mayor", "start", "--json", town=self.town, env=self.env)
        assert started.returncode == 0, started.stderr
        assert json.loads(started.stdout)["runtime"] == "claude"
        assert self.events("mayor_started")
        # its briefing is its first prompt; it answers and sits at its prompt
        server = self.server
        wait_until(
            lambda: (
                server.phases[:1] == [("You are the mayor", server.phases[0][1])]
                if server.phases
                else False
            ),
            90,
            self.state,
        )
        wait_until(
            lambda: session.status(self.town, self.town.config()).screen == "idle",
            60,
            self.state,
        )

    def state(self) -> str:
        beads = [(b["id"], b["rig"], b["type"], b["status"]) for b in self.ledger.beads.list()]
        served = [(r.kind, r.turn, r.status) for r in self.server.requests]
        last = [json.dumps(r.body["messages"][-1])[:1500] for r in self.server.main_requests()[-3:]]
        return (
            f"beads {beads}\nphases {self.server.phases}\nserved {served}\nlast {last}\n"
            f"engine:\n{self.engine_log.read_text(errors='replace')[-3000:]}\n"
            f"mayor log:\n{self.log()[-3000:]}"
        )

    def log(self) -> str:
        try:
            return Path(session.paths(self.town).log).read_text(errors="replace")
        except OSError:
            return ""

    def events(self, kind: str) -> list[Any]:
        return [e for e in self.ledger.state.recent(limit=500) if e["kind"] == kind]

    def filed_and_landed(self) -> tuple[str, str]:
        """The request's convoy: two beads, badge needs health, filed by the mayor in its
        own folder; then worked, landed and reported on. Returns (health, badge)."""
        ledger, town = self.ledger, self.town
        wait_until(lambda: ledger.convoys.list() != [], 90, self.state)
        convoy = ledger.convoys.list()[0]
        beads = {ledger.beads.require(b)["rig"]: b for b in convoy["beads"]}
        assert set(beads) == {"api", "web"}
        health, badge = beads["api"], beads["web"]
        assert ledger.beads.require(health)["created_by"] == "mayor"  # its identity
        edges = ledger.graph.edges_of(badge)
        assert [(e["id"], e["type"]) for e in edges["depends_on"]] == [(health, "blocks")]
        # the plan is in its own folder, not in a rig
        assert (Path(session.paths(town).desk) / "plan.toml").is_file()
        # the polecats work them; the convoy lands; its mail reaches the mayor, who reports
        wait_until(lambda: "MAYOR REPORT" in self.log(), 240, self.state)
        landed = ledger.convoys.get(convoy["id"])
        assert landed is not None and landed["landed_at"]
        return health, badge

    def close(self) -> None:
        if self.engine is not None:
            self.engine.send_signal(signal.SIGTERM)
            try:
                self.engine.wait(30)
            except subprocess.TimeoutExpired:
                self.engine.kill()
                self.engine.wait(5)
        self.tmux.kill_server()
        proctree.terminate(proctree.with_env({"GT_TOWN": self.town.root}))
        self.server.stop()
        self.ledger.close()
        assert town_processes(self.town) == {}


def test_the_mayor_files_slings_answers_reports_and_survives_kill_9(tmp_path: Path) -> None:
    mt = MayorTown(tmp_path)
    try:
        mt.start_mayor()
        town, ledger, server = mt.town, mt.ledger, mt.server
        first_pid = next(p.pane_pid for p in mt.tmux.panes() if p.session == "mayor")

        # the person's request, typed into its session
        told = gt("mayor", "tell", REQUEST, town=town, env=mt.env)
        assert told.returncode == 0, told.stderr
        mt.filed_and_landed()

        # the polecat's question waited until the mayor was idle again, and was answered
        question = next(m for m in ledger.mail.inbox(["mayor"]) if m["subject"] == QUESTION)
        delivered = [
            e for e in mt.events("mayor_mail_delivered") if e["data"]["mail"] == question["id"]
        ]
        assert delivered, mt.state()
        assert at(question["created_at"]) < server.served[3] <= at(delivered[0]["at"]), (
            "the mayor was typed into while busy"
        )
        polecat = str(question["from"])
        wait_until(
            lambda: any(m["subject"] == ANSWER for m in ledger.mail.inbox([polecat])),
            60,
            mt.state,
        )
        answer = next(m for m in ledger.mail.inbox([polecat]) if m["subject"] == ANSWER)
        assert answer["from"] == "mayor"

        # kill -9 of its CLI: restarted by the witness, fresh, re-primed, recorded
        os.kill(first_pid, signal.SIGKILL)
        wait_until(lambda: bool(mt.events("mayor_restarted")), 60, mt.state)
        wait_until(
            lambda: [m for m, _ in server.phases].count("You are the mayor") == 2, 90, mt.state
        )
        new_pid = next(p.pane_pid for p in mt.tmux.panes() if p.session == "mayor")
        assert new_pid != first_pid
        assert session.status(town, town.config()).restarts == 1
        print(f"claude {pinned_version('claude')}: phases {server.phases}")

        stopped = gt("mayor", "stop", town=town, env=mt.env)
        assert stopped.returncode == 0, stopped.stderr
        assert not proctree.with_env({"GT_TOWN": town.root, "GT_SESSION": "mayor"})
    finally:
        mt.close()


async def test_a_request_typed_into_the_apps_mayor_input_lands_and_the_pane_shows_the_report(
    tmp_path: Path,
) -> None:
    """The issue's first "must be shown", through the app: the person types the request
    into the Mayor input (M), the real Claude Code mayor files and slings it, the script
    polecats land it, and the Mayor pane shows the mayor's report."""
    from textual.widgets import Input

    from gastown_tui.app import GasTownApp
    from gastown_tui.widgets.mayor_pane import MayorPane
    from tests.app_support import until

    mt = MayorTown(tmp_path)
    try:
        mt.start_mayor()
        app = GasTownApp(mt.town)  # attaches to the headless engine
        async with app.run_test(size=(200, 50)) as pilot:
            await pilot.press("M")
            await until(pilot, lambda: isinstance(app.focused, Input), timeout=30)
            pane = app.query_one("#mayor", MayorPane)
            await until(
                pilot, lambda: str(pane.border_title).startswith("Mayor · idle"), timeout=30
            )
            await pilot.press(*REQUEST, "enter")
            # typed into its session literally: the scripted model saw the person's words
            await until(
                pilot,
                lambda: any(REQUEST in json.dumps(r.body) for r in mt.server.main_requests()),
                timeout=60,
            )
            await asyncio.to_thread(mt.filed_and_landed)
            await until(
                pilot,
                lambda: any("MAYOR REPORT" in line for line in pane.lines_shown()),
                timeout=60,
            )
            await pilot.press("q")
    finally:
        mt.close()


run_async_tests(globals())
