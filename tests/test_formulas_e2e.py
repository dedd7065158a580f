"""Formulas in a real town (real git, real tmux, the script runtime): a poured molecule's
steps dispatched one wave at a time and landed by the refinery through a real gate, and a
checklist resumed after its session is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess

from engine import vocab
from engine.adapters.tmux import Tmux, socket_name
from engine.commands.sling import SlingRequest, sling
from engine.ledger import Ledger
from engine.ledger.checklists import ChecklistStore
from engine.polecats import proctree
from engine.town import init_town
from tests.conftest import first_parent_history, git_out, gt, make_source_repo, script_body
from tests.test_engine import start_engine, wait_for

# The rig's real gate: every file a step's polecat wrote is on the candidate, not empty.
CHECK = 'for f in *.txt; do [ -s "$f" ] || { echo "empty $f"; exit 1; }; done\n'


def test_the_shipped_feature_formula_pours_and_lands_one_wave_at_a_time(tmp_path):
    """`gt formula cook shiny --var feature=...` in a real town, the engine running
    headless: script polecats in tmux work each step (commit, `gt done`), the refinery
    gates and lands it, and a step is hooked only once every step it needs has landed."""
    town = init_town(str(tmp_path / "town"))
    with open(town.config_path, "a") as fh:
        fh.write('\n[rigs.web]\ngates = { test = "sh check.sh" }\n')
    src = make_source_repo(tmp_path / "src", {"README.md": "# demo\n", "check.sh": CHECK})
    res = gt("rig", "add", "web", str(src), "--prefix", "gt", town=town)
    assert res.returncode == 0, res.stderr
    res = gt("formula", "cook", "shiny", "--var", "feature=dark mode", "--rig", "web", "--json",
             town=town)  # fmt: skip
    assert res.returncode == 0, res.stderr
    cooked = json.loads(res.stdout)
    bead = {s["id"]: s["bead"] for s in cooked["steps"]}
    ledger = Ledger(town.ledger_target)
    mol = ledger.convoys.require(cooked["molecule"])
    assert mol["type"] == "molecule" and sorted(mol["beads"]) == sorted(bead.values())
    titles = {s: ledger.beads.require(b)["title"] for s, b in bead.items()}
    assert titles == {
        "design": "Design dark mode",
        "implement": "Implement dark mode",
        "review": "Review dark mode",
        "test": "Test dark mode",
        "submit": "Submit dark mode",
    }
    needs = {s: sorted(deps(ledger, b)) for s, b in bead.items()}
    assert needs == {
        "design": [],
        "implement": [bead["design"]],
        "review": [bead["implement"]],
        "test": [bead["implement"]],
        "submit": sorted([bead["review"], bead["test"]]),
    }
    assert "Acceptance: " in ledger.beads.require(bead["design"])["body"]

    proc = start_engine(town.root, str(tmp_path / "engine.log"))
    try:
        wait_for(
            lambda: ledger.convoys.require(mol["id"])["status"] == vocab.CONVOY_LANDED,
            timeout=150,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        Tmux(socket_name(town.root)).kill_server()
        proctree.terminate(proctree.with_env({"GT_TOWN": town.root}), grace=1.0)
    try:
        assert all(ledger.beads.require(b)["status"] == vocab.CLOSED for b in bead.values())
        # one layer at a time: each step hooked only after every step it needs merged
        first = {
            s: {k: first_event(ledger, b, k) for k in ("hooked", "merged")} for s, b in bead.items()
        }
        for step, b in bead.items():
            for dep in deps(ledger, b):
                dep_step = next(s for s, x in bead.items() if x == dep)
                assert first[dep_step]["merged"] < first[step]["hooked"], (
                    f"{step} started before {dep_step} landed"
                )
        # each step's work is on main, through the gate, in the order the needs allow
        repo = ledger.rigs.require("web")["path"]
        on_main = git_out(repo, "ls-tree", "--name-only", git_out(repo, "config", "gastown.main"))
        assert {f"{b}.txt" for b in bead.values()} <= set(on_main.split())
        # at least one landing per layer (a layer's steps may land in one batch)
        layers = {s["wave"] for s in cooked["steps"]}
        assert len(first_parent_history(repo)) >= 1 + len(layers) == 5
        assert "Traceback" not in (tmp_path / "engine.log").read_text()
    finally:
        ledger.close()


def deps(ledger: Ledger, bead_id: str) -> list[str]:
    return [e["id"] for e in ledger.graph.edges_of(bead_id)["depends_on"] if e["type"] == "blocks"]


def first_event(ledger: Ledger, bead_id: str, kind: str) -> int:
    ids = [e["id"] for e in ledger.beads.history(bead_id) if e["kind"] == kind]
    assert ids, f"{bead_id} has no {kind} event"
    return min(ids)


def test_a_killed_checklist_session_resumes_at_the_first_unticked_step(real_town):
    rt = real_town
    body = script_body(
        "run gt prime", "run gt step done changelog", "run gt step done bump", "hang"
    )
    bead = rt.ledger.beads.create("release 2.0", rig="web", body=body)["id"]
    request = SlingRequest(ids=(bead,), formula="release", formula_vars=("version=2.0",))
    sling(rt.ledger, rt.config, request, actor="mayor")
    store = ChecklistStore(rt.ledger)
    assert [s["title"] for s in store.steps(bead)][:2] == [
        "Write the changelog for 2.0",
        "Set the version to 2.0",
    ]

    def ticked() -> list[str]:
        return [s["step_id"] for s in store.steps(bead) if s["done_at"]]

    rt.drive(lambda: ticked() == ["changelog", "bump"], timeout=40)
    agent = rt.ledger.agents.list()[0]
    assert {(s["done_by"], s["done_attempt"]) for s in store.steps(bead) if s["done_at"]} == {
        (agent["id"], 1)
    }
    rt.drive(lambda: "hanging" in rt.fleet.tmux.capture(f"web+{agent['name']}", 40))
    rt.fleet.tmux.kill_session(f"web+{agent['name']}")
    rt.drive(
        lambda: (
            rt.ledger.beads.get(bead)["attempt"] == 2
            and "hanging" in rt.fleet.tmux.capture(f"web+{agent['name']}", 80)
        ),
        timeout=40,
    )
    screen = rt.fleet.tmux.capture(f"web+{agent['name']}", 80)
    assert "[x] 1. changelog" in screen and "[x] 2. bump" in screen
    assert "[>] 3. gates: Run the full test suite" in screen
    assert "Resume at step gates" in screen
    assert "(it was ticked already)" in screen  # the script's re-tick changed nothing
    # the ticks are still attempt 1's, and a zombie of attempt 1 can tick nothing
    assert {s["done_attempt"] for s in store.steps(bead) if s["done_at"]} == {1}
    env = {
        **os.environ,
        "GT_TOWN": rt.town.root,
        "GT_AGENT_ID": agent["id"],
        "GT_BEAD": bead,
        "GT_ATTEMPT": "1",
    }
    late = subprocess.run(
        [os.path.join(os.path.dirname(os.sys.executable), "gt"), "step", "done", "gates"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert late.returncode == 1 and "stale attempt 1" in late.stderr
    assert ticked() == ["changelog", "bump"]
