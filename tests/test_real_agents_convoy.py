"""All three real CLIs at once: one convoy across two rigs whose beads run on claude, codex
and gemini — rig web runs claude and a bead of web names codex (`gt bead create --runtime`),
rig api runs gemini — each CLI on its own scripted model server, all slung together; every
bead lands through its rig's real test gate, the convoy lands, `gt costs --json` then shows
per runtime exactly the tokens the servers returned, and nothing the sessions started is
left running.

`RealTown` is shared with tests/test_real_agents_faults.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from engine import vocab
from engine.adapters.tmux import Tmux, socket_name
from engine.ledger import Ledger
from engine.polecats import proctree
from engine.town import Town, init_town
from tests.agent_clis import CliName, agent_cli
from tests.conftest import gt, make_source_repo
from tests.model_servers import ScriptedModelServer, Usage
from tests.model_servers.town_scripts import (
    BROKEN,
    CHECK,
    FIXED,
    claude_bead_script,
    codex_bead_script,
    gemini_bead_script,
)
from tests.test_engine import gastown_argv
from tests.test_real_agents_e2e import CASES, engine_env, toml_table, town_processes, wait_until

# Leftovers of any CLI, looked for by command line too (a process that dropped GT_TOWN).
CLI_WORDS = ("claude", "codex", "gemini", "node")


@dataclass
class RealTown:
    """A town run by the real engine (a subprocess) with real CLIs on scripted servers."""

    root: Path
    town: Town
    env: dict[str, str]
    ledger: Ledger
    engine_log: Path
    servers: dict[str, ScriptedModelServer] = field(default_factory=dict)
    engine: subprocess.Popen[bytes] | None = None

    def gt(self, *args: str) -> subprocess.CompletedProcess[str]:
        out = gt(*args, town=self.town, env=self.env)
        assert out.returncode == 0, out.stderr
        return out

    def gt_json(self, *args: str) -> Any:
        return json.loads(self.gt(*args, "--json").stdout)

    def bead(self, bead_id: str) -> dict[str, Any]:
        return dict(self.ledger.beads.require(bead_id))

    def worktree(self, rig: str, name: str) -> str:
        return os.path.join(self.town.rig_dir(rig), "polecats", name)

    def state(self) -> str:
        beads = [
            (b["id"], b["rig"], b["status"], b["last_error"])
            for b in self.ledger.beads.list()
            if b["type"] != "escalation"
        ]
        agents = [
            (a["name"], a["runtime"], a["status"], a["hook"]) for a in self.ledger.agents.list()
        ]
        served = {
            cli: [(r.kind, r.turn, r.status) for r in server.requests]
            for cli, server in self.servers.items()
        }
        tail = ""
        for path in Path(self.town.logs_dir).rglob("*.log"):
            tail += f"\n--- {path.name}\n" + path.read_text(errors="replace")[-1500:]
        log = self.engine_log.read_text(errors="replace")[-3000:]
        costs = gt("costs", "--by", "runtime", town=self.town, env=self.env).stdout
        return (
            f"left {self.leftovers()}\ncosts {costs}\nbeads {beads}\nagents {agents}\n"
            f"served {served}\nengine:\n{log}\nsessions:{tail}"
        )

    def wait(self, cond: Callable[[], bool], timeout: float) -> None:
        wait_until(cond, timeout, self.state)

    def start_engine(self) -> None:
        with self.engine_log.open("ab") as fh:
            self.engine = subprocess.Popen(
                [*gastown_argv(), "--engine-only", "--town", self.town.root],
                stdout=fh,
                stderr=fh,
                env=self.env,
            )

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.send_signal(signal.SIGTERM)
            try:
                self.engine.wait(30)
            except subprocess.TimeoutExpired:
                self.engine.kill()
                self.engine.wait(5)
        Tmux(socket_name(self.town.root)).kill_server()
        proctree.terminate(proctree.with_env({"GT_TOWN": self.town.root}))
        for server in self.servers.values():
            server.stop()
        self.ledger.close()

    def leftovers(self) -> dict[int, str]:
        """Processes of this town still alive: those carrying its GT_TOWN, and any CLI whose
        command line names this test's directory."""
        out = town_processes(self.town)
        for pid in proctree.alive(set(_pids())):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            exe = os.path.basename(cmd.split(" ", 1)[0])
            if str(self.root) in cmd + cwd and (exe in CLI_WORDS or "app-server" in cmd):
                out[pid] = cmd
        return out


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def new_town(
    root: Path,
    rigs: dict[str, CliName],
    scripts: dict[CliName, Callable[[RealTown], ScriptedModelServer]],
    *,
    scheduler: dict[str, float] | None = None,
    set_env: dict[CliName, dict[str, str]] | None = None,
    runtimes: tuple[CliName, ...] = (),
) -> RealTown:
    """A town with a rig per entry of `rigs` (each with the failing test as its real gate
    and the given runtime), a scripted server per runtime (of the rigs, and `runtimes` that
    only beads name; started here), and the CLIs' presets pointed at them (plus `set_env`);
    `scheduler` replaces [scheduler] settings. The engine is not started yet."""
    clis = list(dict.fromkeys([*rigs.values(), *runtimes]))
    for cli in clis:
        agent_cli(cli)  # installed (or the test skips: no npm)
    env = engine_env(root / "home")
    town = init_town(str(root / "town"))
    rt = RealTown(root, town, env, Ledger(town.ledger_target), root / "engine.log")
    text = Path(town.config_path).read_text()
    first = next(iter(rigs.values()))
    text = text.replace('default = "script"', f'default = "{first}"', 1)
    for key, value in (scheduler or {}).items():
        text, n = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.MULTILINE)
        if not n:
            text = text.replace("[scheduler]\n", f"[scheduler]\n{key} = {value}\n", 1)
    for cli in clis:
        server = scripts[cli](rt).start()
        rt.servers[cli] = server
        values = CASES[cli].set_env(server.url) | (set_env or {}).get(cli, {})
        text += f"\n[runtime.{cli}]\nset_env = {toml_table(values)}\n{CASES[cli].table}"
    for rig, cli in rigs.items():
        text += f'\n[rigs.{rig}]\nruntime = "{cli}"\ngates = {{ test = "python3 test_calc.py" }}\n'
    Path(town.config_path).write_text(text)
    for rig in rigs:
        src = make_source_repo(root / f"src-{rig}", {"calc.py": BROKEN, "test_calc.py": CHECK})
        rt.gt("rig", "add", rig, str(src), "--prefix", rig[:2])
    return rt


def landed_calc(rt: RealTown, rig: str) -> str:
    repo = rt.ledger.rigs.require(rig)["path"]
    main = subprocess.run(
        ["git", "config", "gastown.main"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    return subprocess.run(
        ["git", "show", f"{main}:calc.py"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def towns(tmp_path: Path) -> Iterator[list[RealTown]]:
    made: list[RealTown] = []
    yield made
    for rt in made:
        rt.stop()


# Two rigs, each with its runtime; the town's default is the first's (claude).
RIGS: dict[str, CliName] = {"web": "claude", "api": "gemini"}


class ConvoyBead(NamedTuple):
    rig: str
    runtime: CliName | None  # what the bead names; None: its rig's
    polecat: str


# The order the convoy's beads are created in (same priority: created first, dispatched
# first) gives the polecats their names in the pool's order: the scripts of Claude Code and
# Gemini CLI name absolute paths in their worktrees. Both web beads fix the same line (the
# second lands as a merge that changes nothing more).
CONVOY: dict[CliName, ConvoyBead] = {
    "claude": ConvoyBead("web", None, "Toast"),
    "codex": ConvoyBead("web", "codex", "Maple"),
    "gemini": ConvoyBead("api", None, "Birch"),
}


@pytest.mark.slow
def test_three_real_runtimes_work_one_convoy_across_two_rigs_and_costs_match_the_servers(
    tmp_path: Path, towns: list[RealTown]
) -> None:
    def wt(rt: RealTown, cli: CliName) -> str:
        return rt.worktree(CONVOY[cli].rig, CONVOY[cli].polecat)

    scripts: dict[CliName, Callable[[RealTown], ScriptedModelServer]] = {
        "claude": lambda rt: CASES["claude"].server(claude_bead_script(wt(rt, "claude"))),
        "gemini": lambda rt: CASES["gemini"].server(
            gemini_bead_script(wt(rt, "gemini")), side_usage=Usage(70, 7)
        ),
        "codex": lambda rt: CASES["codex"].server(codex_bead_script()),
    }
    rt = new_town(tmp_path, RIGS, scripts, runtimes=("codex",))
    towns.append(rt)
    beads: dict[CliName, str] = {}
    for runs, (rig, named, _) in CONVOY.items():
        runtime = ["--runtime", named] if named else []
        title, body = f"Fix add in {rig} ({runs})", "test_calc.py fails: make it pass."
        made = rt.gt_json("bead", "create", title, "--rig", rig, *runtime, "--body", body)
        beads[runs] = made["id"]
    assert (
        rt.bead(beads["codex"])["runtime"] == "codex"
        and rt.bead(beads["claude"])["runtime"] is None
    )
    convoy = rt.gt_json("convoy", "create", "Fix add everywhere", *_beads_args(beads.values()))
    rt.start_engine()
    slung = rt.gt_json("sling", convoy["id"])
    assert {p["id"]: (p["agent"], p["rig"], p["runtime"]) for p in slung} == {
        beads[cli]: (b.polecat, b.rig, cli) for cli, b in CONVOY.items()
    }
    # all three at work at once: two runtimes side by side in rig web
    rt.wait(lambda: len({a["runtime"] for a in rt.ledger.agents.list() if a["hook"]}) == 3, 120)
    assert {(a["rig"], a["name"], a["runtime"]) for a in rt.ledger.agents.list()} == {
        (b.rig, b.polecat, cli) for cli, b in CONVOY.items()
    }
    rt.wait(lambda: all(rt.bead(b)["status"] == vocab.CLOSED for b in beads.values()), 300)
    for rig in RIGS:
        assert landed_calc(rt, rig) == FIXED
    rt.wait(lambda: bool(rt.gt_json("convoy", "status", convoy["id"])["landed_at"]), 30)
    # Every CLI played its whole script, the test's output in its last turn.
    for cli, server in rt.servers.items():
        mains = server.main_requests()
        assert {0, 1, 2, 3, 4} <= {r.turn for r in mains}, (cli, rt.state())
        assert any("calc ok" in json.dumps(r.body) for r in mains if r.turn == 4), cli
    # The sessions ended (a finished agent's session stops once its screen is idle).
    rt.wait(lambda: not rt.leftovers(), 150)  # at the latest: finish_grace_seconds
    # The town read each CLI's own records: per runtime exactly what its server returned
    # for the main conversation (Gemini's router calls are recorded nowhere by the CLI).
    rt.wait(lambda: _costs_by_runtime(rt).keys() == set(CONVOY), 30)
    want = {cli: _tokens(_recorded(cli, server)) for cli, server in rt.servers.items()}
    rt.wait(lambda: _costs_by_runtime(rt) == want, 30)
    # ...and each session on the bead it worked (by the session's own start time, however
    # late the engine first read it), so each bead and the convoy add up exactly too.
    assert _costs_by(rt, "bead") == {beads[cli]: want[cli] for cli in CONVOY}
    convoy_total = {k: sum(w[k] for w in want.values()) for k in _tokens(Usage())}
    assert _costs_by(rt, "convoy") == {convoy["id"]: convoy_total}
    assert "Traceback" not in rt.engine_log.read_text()


def _beads_args(ids: Any) -> list[str]:
    return [arg for bid in ids for arg in ("--bead", bid)]


def _recorded(cli: str, server: ScriptedModelServer) -> Usage:
    """What the CLI records of what its server returned: every main answer, except that
    Codex's title request (it carries all tools, so the server plays the script to it too)
    is a conversation Codex keeps no rollout of: each turn counts once."""
    if cli != "codex":
        return server.usage_returned("main")
    total, seen = Usage(), set()
    for r in server.main_requests():
        if r.usage is not None and r.turn not in seen:
            seen.add(r.turn)
            total = total + r.usage
    return total


def _tokens(u: Usage) -> dict[str, int]:
    # The town's figures: input without the cached part (OpenAI and Gemini count it inside).
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_read_tokens": u.cache_read_tokens,
        "cache_write_tokens": u.cache_write_tokens,
        "tokens": u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_write_tokens,
    }


def _costs_by_runtime(rt: RealTown) -> dict[str, dict[str, int]]:
    return _costs_by(rt, "runtime")


def _costs_by(rt: RealTown, by: str) -> dict[str, dict[str, int]]:
    report = rt.gt_json("costs", "--by", by)
    return {
        line["key"]: {k: line[k] for k in _tokens(Usage())}
        for line in report["lines"]
        if line["key"]
    }


def wait_for_first_request(server: ScriptedModelServer, timeout: float) -> float:
    """Seconds until `server` saw its first main request (for the faults tests)."""
    start = time.monotonic()
    wait_until(lambda: bool(server.main_requests()), timeout, lambda: repr(server.requests))
    return time.monotonic() - start
