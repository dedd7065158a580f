"""Formulas in a real town (real git, real tmux, the script runtime): a poured molecule's
steps dispatched one wave at a time, and a checklist resumed after its session is killed."""

from __future__ import annotations

import os
import subprocess

from engine import vocab
from engine.commands.formula_actions import Cook, cook
from engine.commands.sling import SlingRequest, sling
from engine.ledger.checklists import ChecklistStore
from tests.conftest import script_body


def test_the_shipped_feature_formula_pours_and_lands_one_wave_at_a_time(real_town):
    rt = real_town
    cooked = cook(rt.ledger, Cook("shiny", ("feature=dark mode",), rig="web"), actor="mayor")
    mol = rt.ledger.convoys.require(cooked.molecule)
    assert mol["type"] == "molecule" and len(mol["beads"]) == 5
    bead = {s.id: s.bead for s in cooked.steps}
    titles = {s: rt.ledger.beads.get(b)["title"] for s, b in bead.items()}
    assert titles == {
        "design": "Design dark mode",
        "implement": "Implement dark mode",
        "review": "Review dark mode",
        "test": "Test dark mode",
        "submit": "Submit dark mode",
    }
    needs = {
        s: sorted(
            e["id"] for e in rt.ledger.graph.edges_of(b)["depends_on"] if e["type"] == "blocks"
        )
        for s, b in bead.items()
    }
    assert needs == {
        "design": [],
        "implement": [bead["design"]],
        "review": [bead["implement"]],
        "test": [bead["implement"]],
        "submit": sorted([bead["review"], bead["test"]]),
    }
    assert "Acceptance: " in rt.ledger.beads.get(bead["design"])["body"]

    def status(step: str) -> str:
        return str(rt.ledger.beads.get(bead[step])["status"])

    touched: set[str] = set()
    for wave in (["design"], ["implement"], ["review", "test"], ["submit"]):
        rt.drive(lambda w=wave: all(status(s) == vocab.IN_REVIEW for s in w), timeout=40)
        touched.update(wave)
        # nothing of a later wave was started while this one worked
        later = [s for s in bead if s not in touched]
        assert all(status(s) == vocab.OPEN for s in later), [(s, status(s)) for s in later]
        assert all(rt.ledger.beads.get(bead[s])["assignee"] is None for s in later)
        for s in wave:
            rt.ledger.beads.close(bead[s])  # stands in for the refinery landing it
    assert rt.ledger.convoys.require(cooked.molecule)["status"] == vocab.CONVOY_LANDED


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
