"""The real Claude Code, Codex and Gemini CLIs work a bead in a real town, each on its preset:
`gt sling` → the engine starts the CLI's interactive TUI in tmux in the polecat's worktree →
the scripted model has it read the failing test, fix the code, run the test, commit and run
`gt done` → the refinery runs the rig's gate (the real test) and lands it → the bead is
closed, and nothing the session started is left running.

The machine's own CLI configuration is never read: the engine runs with a temp HOME, and
each agent gets its own config home from the town (engine/polecats/agent_homes.py).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine import vocab
from engine.adapters.tmux import Tmux, socket_name
from engine.ledger import Ledger
from engine.polecats import proctree, runtimes
from engine.safetext import plain
from engine.town import Town, init_town
from tests.agent_clis import BIN, CODEX_MODEL, CliName, agent_cli, pinned_version
from tests.conftest import gt, make_source_repo
from tests.model_servers import (
    AnthropicServer,
    GeminiServer,
    OpenAIResponsesServer,
    Script,
    ScriptedModelServer,
    Turn,
)
from tests.model_servers.town_scripts import (
    BROKEN,
    CHECK,
    FIXED,
    claude_bead_script,
    codex_bead_script,
    gemini_bead_script,
)
from tests.test_engine import gastown_argv

pytestmark = pytest.mark.slow

# Variables of this machine that would point a CLI elsewhere than the scripted server.
MACHINE_VARS = ("ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_", "CLAUDE_", "CODEX_")


@dataclass(frozen=True)
class Case:
    server: type[ScriptedModelServer]
    script: Callable[[str], Script]
    set_env: Callable[[str], dict[str, str]]
    user_agent: str
    # more of the runtime's table: Codex's default model (gpt-6.2-sol) speaks a tool format
    # the scripted server does not, so the table picks one the headless tests use
    table: str = ""


CASES: dict[CliName, Case] = {
    "claude": Case(
        AnthropicServer,
        claude_bead_script,
        lambda url: {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_AUTH_TOKEN": "scripted-token"},
        "claude-cli/",
    ),
    "codex": Case(
        OpenAIResponsesServer,
        lambda _worktree: codex_bead_script(),
        lambda url: {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "scripted-key"},
        "codex",
        "argv = "
        + json.dumps([*runtimes.PRESETS["codex"].argv[:-1], "-m", CODEX_MODEL, "{prompt}"])
        + "\n",
    ),
    "gemini": Case(
        GeminiServer,
        gemini_bead_script,
        lambda url: {"GOOGLE_GEMINI_BASE_URL": url, "GEMINI_API_KEY": "scripted-key"},
        "",
    ),
}


def toml_table(values: dict[str, str]) -> str:
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items()) + " }"


def write_config(town: Town, cli: str, set_env: dict[str, str], table: str) -> None:
    text = Path(town.config_path).read_text()
    assert 'default = "script"' in text
    text = text.replace('default = "script"', f'default = "{cli}"', 1)
    text += f"\n[runtime.{cli}]\nset_env = {toml_table(set_env)}\n{table}"
    text += '\n[rigs.web]\ngates = { test = "python3 test_calc.py" }\n'
    # A finished CLI whose screen does not read idle is ended after this, so "nothing left
    # running" waits stay short; the CLIs' screens end theirs sooner (the test below).
    text += "\n[witness]\nfinish_grace_seconds = 15\n"
    Path(town.config_path).write_text(text)


def engine_env(home: Path) -> dict[str, str]:
    """The engine's environment: a temp HOME (with a git identity for the agent's commits),
    the pinned CLIs first on PATH, none of this machine's CLI variables."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Polecat\n\temail = polecat@example.invalid\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(MACHINE_VARS)}
    env.update(HOME=str(home), SHELL="/bin/sh", PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return env


def town_processes(town: Town) -> dict[int, str]:
    out = {}
    for pid in proctree.with_env({"GT_TOWN": town.root}):
        try:
            out[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return out


@dataclass
class Run:
    town: Town
    ledger: Ledger
    server: ScriptedModelServer
    bead: str
    worktree: str
    home: Path
    engine_log: Path


@pytest.fixture
def run_bead(tmp_path: Path) -> Iterator[Callable[[CliName], Run]]:
    cleanups: list[Callable[[], None]] = []

    def run(cli: CliName) -> Run:
        agent_cli(cli)  # installed (or the test skips: no npm)
        case = CASES[cli]
        home = tmp_path / "home"
        env = engine_env(home)
        town = init_town(str(tmp_path / "town"))
        worktree = os.path.join(town.rig_dir("web"), "polecats", "Toast")
        server = case.server(case.script(worktree)).start()
        cleanups.append(server.stop)
        write_config(town, cli, case.set_env(server.url), case.table)
        src = make_source_repo(tmp_path / "src", {"calc.py": BROKEN, "test_calc.py": CHECK})
        added = gt("rig", "add", "web", str(src), "--prefix", "gt", town=town, env=env)
        assert added.returncode == 0, added.stderr
        log = tmp_path / "engine.log"
        with log.open("ab") as fh:
            engine = subprocess.Popen(
                [*gastown_argv(), "--engine-only", "--town", town.root],
                stdout=fh,
                stderr=fh,
                env=env,
            )
        ledger = Ledger(town.ledger_target)

        def stop() -> None:
            engine.send_signal(signal.SIGTERM)
            try:
                engine.wait(30)
            except subprocess.TimeoutExpired:
                engine.kill()
            Tmux(socket_name(town.root)).kill_server()
            proctree.terminate(proctree.with_env({"GT_TOWN": town.root}))
            ledger.close()

        cleanups.append(stop)
        slung = gt(
            "sling",
            "--title",
            "Fix add",
            "--rig",
            "web",
            "--body",
            "test_calc.py fails: make it pass.",
            "--json",
            town=town,
            env=env,
        )
        assert slung.returncode == 0, slung.stderr
        bead = json.loads(slung.stdout)[0]["id"]
        return Run(town, ledger, server, bead, worktree, home, log)

    yield run
    for cleanup in reversed(cleanups):
        cleanup()


def wait_until(cond: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out: {what()}")


def state_of(run: Run) -> str:
    bead = run.ledger.beads.get(run.bead)
    agents = [(a["name"], a["status"], a["hook"]) for a in run.ledger.agents.list()]
    turns = [
        (r.kind, r.turn, r.status, r.path, json.dumps(r.body)[:300]) for r in run.server.requests
    ]
    log = run.engine_log.read_text()[-3000:]
    tail = ""
    for path in Path(run.town.logs_dir).rglob("*.log"):
        tail += f"\n--- {path.name}\n" + path.read_text(errors="replace")[-2500:]
    return f"bead {bead}\nagents {agents}\nrequests {turns}\nengine log:\n{log}\nsessions:{tail}"


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini"])
def test_real_cli_works_a_slung_bead_and_the_refinery_lands_it(
    cli: CliName, run_bead: Callable[[CliName], Run]
) -> None:
    run = run_bead(cli)
    wait_until(
        lambda: run.ledger.beads.require(run.bead)["status"] == vocab.CLOSED,
        240,
        lambda: state_of(run),
    )
    repo = run.ledger.rigs.require("web")["path"]
    main = subprocess.run(
        ["git", "config", "gastown.main"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    landed = subprocess.run(
        ["git", "show", f"{main}:calc.py"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert landed == FIXED
    mains = run.server.main_requests()
    # The whole script up to `gt done` was played, the test's output before the last turn.
    # (Codex also sends its title request with all tools: a second conversation that the
    # server answers from the script too — so turns are checked as a set.)
    assert {0, 1, 2, 3, 4} <= {r.turn for r in mains}, state_of(run)
    assert any("calc ok" in json.dumps(r.body) for r in mains if r.turn == 4)
    # the bead's prompt reached the CLI (an argument of its interactive TUI)
    assert any(f"Your hook: {run.bead}" in json.dumps(r.body) for r in mains if r.turn == 0)
    assert all(CASES[cli].user_agent in r.headers.get("user-agent", "") for r in mains)
    # its config home was the agent's own, private; the person's HOME got none of it
    home = Path(run.town.state_dir, "homes", "web+Toast", cli)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert not any((run.home / name).exists() for name in (".claude", ".claude.json", ".codex"))
    assert not (run.home / ".gemini" / "settings.json").exists()
    # its session ended by itself once its CLI sat idle after `gt done` (two screen readings,
    # a tick apart), and with it every process the session started
    wait_until(lambda: not town_processes(run.town), 30, lambda: repr(town_processes(run.town)))
    assert "Traceback" not in run.engine_log.read_text()
    print(f"{cli} {pinned_version(cli)}: {len(run.server.requests)} requests", file=sys.stderr)


NUDGE = "Please finish: NUDGE-7731"


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini"])
def test_a_nudge_typed_into_the_real_cli_is_submitted(
    cli: CliName, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_town_factory: Any
) -> None:
    """Text and Enter go as two tmux sends (Codex and Gemini CLI do not submit both in
    one), after the runtime's ready_delay and once the CLI is not busy."""
    from engine.polecats.dispatcher import Assignment, NotYet

    agent_cli(cli)
    case = CASES[cli]
    for key, value in engine_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith(MACHINE_VARS)]:
        monkeypatch.delenv(key)
    with case.server(Script([Turn("Waiting for instructions.")])) as server:
        table: dict[str, Any] = {"set_env": case.set_env(server.url)}
        if case.table:
            table["argv"] = json.loads(case.table.removeprefix("argv = "))
        rt = real_town_factory({"runtime": {cli: table}})
        if cli == "codex":
            # What Codex 0.171.0 writes once its "Meet GPT-6 Sol" dialog was answered: this
            # town has no witness to answer it (the screen rules do that in the engine).
            home = Path(rt.town.state_dir, "homes", "web+Toast", "codex")
            home.mkdir(parents=True)
            (home / "config.toml").write_text(
                '[notice.model_migrations]\n"gpt-5.5" = "gpt-6-sol"\n'
            )
        try:
            bead = rt.ledger.beads.create("wait", rig="web", body="Wait for a nudge.")
            with rt.ledger.transaction():
                agent = rt.ledger.agents.allocate("web", "Toast", cli)
                attempt = rt.ledger.agents.assign(agent, bead["id"], rig="web")
            rt.fleet.start(Assignment(agent["id"], "Toast", "web", bead["id"], attempt, cli))
            wait_until(lambda: len(server.main_requests()) >= 1, 60, lambda: repr(server.requests))
            typed_at = None
            deadline = time.monotonic() + 60
            while typed_at is None and time.monotonic() < deadline:
                try:
                    rt.fleet._nudge({"agent_id": agent["id"], "message": NUDGE})
                    typed_at = time.monotonic()
                except NotYet:
                    time.sleep(0.2)
            assert typed_at is not None, "the CLI never stopped being busy"
            wait_until(
                lambda: any(NUDGE in json.dumps(r.body) for r in server.main_requests()),
                30,
                lambda: rt.fleet.tmux.capture("web+Toast", 30),
            )
            rt.fleet.stop(agent["id"])
            assert proctree.alive(proctree.with_env({"GT_TOWN": rt.town.root})) == set()
        finally:
            rt.fleet.stop("web/polecats/Toast")
            proctree.terminate(proctree.with_env({"GT_TOWN": rt.town.root}))


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini"])
def test_the_cli_sees_gt_dones_answer_and_its_session_ends_by_itself(
    cli: CliName, run_bead: Callable[[CliName], Run]
) -> None:
    """Sessions end when the agent is finished, not when the ledger moves: the CLI's last
    request carries `gt done`'s answer (the script's closing turn after the tool result),
    and only then, its screen idle, the engine ends the session without being told — read
    from the screen (Codex 0.171.0: "Worked for <1s" above its composer), before
    finish_grace_seconds (15 s here) would."""
    run = run_bead(cli)
    session_alive = lambda: bool(town_processes(run.town))  # noqa: E731
    # The tool result of the `gt done` call: its words reach the model, in the closing
    # turn's request. (Codex's title request plays the script too, its own turns ahead.)
    said = "is in review. You are free."
    wait_until(
        lambda: any(said in json.dumps(r.body) for r in run.server.main_requests()),
        180,
        lambda: state_of(run),
    )
    closing_at = time.monotonic()
    (last,) = [r for r in run.server.main_requests() if said in json.dumps(r.body)]
    assert last.turn == 5, state_of(run)
    wait_until(lambda: not session_alive(), 60, lambda: state_of(run))
    ended_after = time.monotonic() - closing_at
    log = run.engine_log.read_text()
    assert "Toast finished and its CLI is idle: ending its session" in log, log[-3000:]
    # ...by the witness's screen reading, not the grace period (nor a kill for new work)
    assert "ending the earlier session" not in log
    # (measured: claude and codex ~5 s, gemini ~10 s; the grace would say nothing in the log)
    assert ended_after < 15, f"{ended_after:.1f}s after its closing turn"
    print(f"{cli}: session ended {ended_after:.1f}s after its closing turn", file=sys.stderr)
    assert not any((r.turn or 0) > 5 for r in run.server.main_requests())
    # seance kept its last words: the closing text is in the session's log
    logs = "".join(p.read_text(errors="replace") for p in Path(run.town.logs_dir).rglob("*.log"))
    assert "refinery" in plain(logs), plain(logs)[-2000:]
