"""Formulas: the shipped ones, layers and `extends`, every kind of bad formula refused in
one line with nothing written, cooking, checklists and their ticks, `gt mol status`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.commands.formula_actions import (
    Cook,
    StepDone,
    cook,
    formulas_for,
    mol_status,
    step_done,
)
from engine.commands.sling import SlingRequest, sling
from engine.config import TownConfig
from engine.errors import GtError
from engine.formulas.lean import plain_checklist
from engine.formulas.loader import FormulaSet, layers
from engine.ledger import Ledger, schema
from engine.ledger.checklists import ChecklistStore
from engine.town import Town
from tests.cli_support import hooked_agent
from tests.conftest import REPO, add_rig, gt

SHIPPED = ["bugfix", "code-review", "polecat-work", "release", "shiny"]


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.formula.toml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def town_formulas(town: Town) -> Path:
    return Path(town.root) / "formulas"


def test_the_shipped_formulas_load_and_the_prime_path_reads_the_work_checklist_alike(
    ledger: Ledger,
) -> None:
    found = formulas_for(ledger)
    assert found.names() == SHIPPED
    kinds = {f.name: f.type for f in found.all()}
    assert kinds == {
        "bugfix": "workflow",
        "code-review": "workflow",
        "polecat-work": "checklist",
        "release": "checklist",
        "shiny": "workflow",
    }
    bugfix = found.get("bugfix")
    assert bugfix.steps[0].id == "reproduce" and "failing test" in bugfix.steps[0].title
    full = found.get("polecat-work")
    lean = plain_checklist("polecat-work", None, None)
    assert lean is not None
    assert [(s.id, s.title, s.description, s.acceptance) for s in lean.steps] == [
        (s.id, s.title, s.description, s.acceptance) for s in full.steps
    ]


def test_a_town_formula_extends_the_shipped_one_of_its_name_and_a_rig_overrides_both(
    ledger: Ledger, town: Town, tmp_path: Path
) -> None:
    write(
        town_formulas(town),
        "shiny",
        """
        formula = "shiny"
        extends = "shiny"
        description = "ours"
        [vars.owner]
        default = "web team"
        [[steps]]
        id = "design"
        title = "Design {{feature}} with {{owner}}"
        [[steps]]
        id = "docs"
        title = "Document {{feature}}"
        needs = ["implement"]
        """,
    )
    clone = tmp_path / "clone"
    ledger.rigs.add(
        "web", prefix="gt", source="/dev/null", path=str(clone), capabilities=[], gates=[]
    )
    write(
        clone / ".gastown" / "formulas",
        "shiny",
        """
        formula = "shiny"
        type = "workflow"
        [[steps]]
        id = "only"
        title = "The rig's own way"
        """,
    )
    town_shiny = formulas_for(ledger).get("shiny")
    assert town_shiny.layer == "town" and town_shiny.description == "ours"
    assert [s.id for s in town_shiny.steps] == [
        "design",
        "implement",
        "review",
        "test",
        "submit",
        "docs",
    ]  # overridden in place, the new step last
    assert town_shiny.steps[0].title == "Design {{feature}} with {{owner}}"
    assert set(town_shiny.vars) == {"feature", "assignee", "owner"}
    assert town_shiny.overrides == (str(Path(town_shiny.steps[1].lines.path)),)  # type: ignore[union-attr]
    rig_shiny = formulas_for(ledger, "web").get("shiny")
    assert rig_shiny.layer == "rig web" and [s.id for s in rig_shiny.steps] == ["only"]
    assert len(rig_shiny.overrides) == 2
    cooked = cook(ledger, Cook("shiny", ("feature=search",), dry_run=True), actor="mayor")
    assert cooked.steps[0].title == "Design search with web team"
    assert [s.wave for s in cooked.steps] == [0, 1, 2, 2, 3, 2]


# (file text, where the error points (file:line), what it says)
BAD: dict[str, tuple[str, int | None, str]] = {
    "unknown top-level key": ('formula = "bad"\nsteeps = []\n', 2, "unknown field steeps"),
    "unknown step key": (
        'formula = "bad"\n[[steps]]\nid = "a"\ntitle = "A"\nneeds_all = []\n',
        5,
        "step #1: unknown field needs_all",
    ),
    "wrong value type": (
        'formula = "bad"\n[vars.x]\nrequired = "yes"\n[[steps]]\nid = "a"\ntitle = "A"\n',
        3,
        "required must be",
    ),
    "bad type": ('formula = "bad"\ntype = "flow"\n', 2, 'type must be "workflow" or "checklist"'),
    "not TOML": ('formula = "bad"\n[[steps]\n', None, "not valid TOML"),
    "name differs from file": ('formula = "good"\n[[steps]]\nid = "a"\ntitle = "A"\n', 1, "named"),
    "unknown needs": (
        'formula = "bad"\n[[steps]]\nid = "a"\ntitle = "A"\n[[steps]]\nid = "b"\n'
        'title = "B"\nneeds = ["c"]\n',
        8,
        "step 'b' needs 'c', which is not a step",
    ),
    "cycle": (
        'formula = "bad"\n[[steps]]\nid = "a"\ntitle = "A"\nneeds = ["b"]\n[[steps]]\n'
        'id = "b"\ntitle = "B"\nneeds = ["a"]\n',
        5,
        "cycle: a → b → a",
    ),
    "duplicate step": (
        'formula = "bad"\n[[steps]]\nid = "a"\ntitle = "A"\n[[steps]]\nid = "a"\ntitle = "B"\n',
        6,
        "duplicate step id 'a'",
    ),
    "undeclared variable": (
        'formula = "bad"\n[[steps]]\nid = "a"\ntitle = "Do {{thing}}"\n',
        4,
        "uses {{thing}}, which is not declared",
    ),
    "bad step id": ('formula = "bad"\n[[steps]]\nid = "a b"\ntitle = "A"\n', 3, "step id"),
    "no steps": ('formula = "bad"\n', None, "has no [[steps]]"),
    "extends unknown": (
        'formula = "bad"\nextends = "nowhere"\n[[steps]]\nid = "a"\ntitle = "A"\n',
        2,
        "extends unknown formula 'nowhere'",
    ),
    "extends loop": ('formula = "bad"\nextends = "loop2"\n', 2, "extends loops back"),
    "missing required var": (
        'formula = "bad"\n[vars.who]\nrequired = true\n[[steps]]\nid = "a"\ntitle = "{{who}}"\n',
        2,
        "variable 'who' is required",
    ),
    "unknown var given": (
        'formula = "bad"\n[[steps]]\nid = "a"\ntitle = "A"\n',
        None,
        "unknown variable 'extra'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_every_kind_of_bad_formula_is_refused_in_one_line_and_nothing_is_written(
    ledger: Ledger, town: Town, case: str
) -> None:
    text, line, says = BAD[case]
    path = write(town_formulas(town), "bad", text)
    write(town_formulas(town), "loop2", 'formula = "loop2"\nextends = "bad"\n')
    before = (len(ledger.beads.list()), ledger.state.last_event_id())
    given = ("extra=1",) if case == "unknown var given" else ()
    with pytest.raises(GtError) as err:
        cook(ledger, Cook("bad", given, staged=True), actor="mayor")
    message = err.value.message
    assert "\n" not in message and says in message, message
    assert message.startswith(f"{path}:{line}:" if line else str(path)), message
    assert message.endswith("; nothing was created")
    assert (len(ledger.beads.list()), ledger.state.last_event_id()) == before


def test_gt_formula_cook_refuses_in_one_line_without_a_traceback(town: Town) -> None:
    write(town_formulas(town), "bad", BAD["cycle"][0])
    proc = gt("formula", "cook", "bad", town=town)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "bad.formula.toml:5: the steps' needs form a cycle" in proc.stderr
    assert gt("bead", "list", "--json", town=town).stdout.strip() == "[]"


def test_values_fill_words_only_and_are_never_read_again_for_variables(ledger: Ledger) -> None:
    add_rig(ledger, "web", "gt")
    cooked = cook(
        ledger,
        Cook("shiny", ("feature={{assignee}}; rm -rf /", "assignee=x"), rig="web"),
        actor="mayor",
    )
    design = ledger.beads.require(cooked.steps[0].bead or "")
    assert design["title"] == "Design {{assignee}}; rm -rf /"
    assert design["metadata"] == {"formula": "shiny", "step": "design"}
    assert design["slung"] and design["rig"] == "web"
    assert [s.id for s in cooked.steps] == ["design", "implement", "review", "test", "submit"]


def test_steps_that_name_rigs_are_filed_there_and_an_unknown_rig_writes_nothing(
    ledger: Ledger, town: Town
) -> None:
    add_rig(ledger, "web", "gt")
    add_rig(ledger, "api", "ap")
    text = (
        'formula = "split"\n[[steps]]\nid = "schema"\ntitle = "Schema"\nrig = "api"\n'
        '[[steps]]\nid = "page"\ntitle = "Page"\nneeds = ["schema"]\n'
    )
    path = write(town_formulas(town), "split", text)
    cooked = cook(ledger, Cook("split", rig="web"), actor="mayor")
    assert [(s.id, s.rig) for s in cooked.steps] == [("schema", "api"), ("page", "web")]
    assert [ledger.beads.require(s.bead or "")["rig"] for s in cooked.steps] == ["api", "web"]
    path.write_text(text.replace('"api"', '"nope"'))
    before = len(ledger.beads.list())
    with pytest.raises(GtError) as err:
        cook(ledger, Cook("split", rig="web"), actor="mayor")
    assert err.value.message == (
        f"{path}:5: step 'schema' names unknown rig 'nope'; nothing was created"
    )
    assert len(ledger.beads.list()) == before


def test_a_dry_run_and_a_staged_pour(ledger: Ledger) -> None:
    dry = cook(ledger, Cook("bugfix", ("bug=crash",), dry_run=True), actor="mayor")
    assert dry.molecule is None and ledger.beads.list() == []
    assert [(s.id, s.wave) for s in dry.steps] == [("reproduce", 0), ("fix", 1), ("verify", 2)]
    staged = cook(ledger, Cook("bugfix", ("bug=crash",), staged=True), actor="mayor")
    assert ledger.convoys.require(staged.molecule or "")["status"] == "staged"
    assert not any(ledger.beads.require(s.bead or "")["slung"] for s in staged.steps)
    st = mol_status(ledger, staged.molecule or "")
    assert (st["kind"], st["formula"], st["progress"]) == (
        "molecule",
        "bugfix",
        {"total": 3, "done": 0},
    )
    assert [s["needs"] for s in st["steps"]] == [[], ["reproduce"], ["fix"]]


def test_a_checklist_is_attached_by_sling_and_ticked_by_its_agent_only_once(
    ledger: Ledger,
) -> None:
    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked_agent(ledger)
    other = ledger.beads.create("other", rig="web")["id"]
    with pytest.raises(GtError, match="is a workflow"):
        sling(ledger, TownConfig(), SlingRequest((other,), formula="shiny"), actor="mayor")
    assert not ledger.beads.require(other)["slung"]
    with pytest.raises(GtError, match="variable 'version' is required"):
        sling(ledger, TownConfig(), SlingRequest((other,), formula="release"), actor="mayor")
    store = ChecklistStore(ledger)
    with ledger.transaction():
        store.attach(bead, "release", [("a", "A", "", ""), ("b", "B", "", "")], actor="mayor")
    first = step_done(ledger, StepDone(agent, bead, attempt, "a"))
    assert first.newly and first.checklist.next_step == "b"
    again = step_done(ledger, StepDone(agent, bead, attempt, "a"))
    assert not again.newly
    with pytest.raises(GtError, match=r"no step 'zz' in .*\(steps: a, b\)"):
        step_done(ledger, StepDone(agent, bead, attempt, "zz"))
    with pytest.raises(GtError, match="stale attempt"):
        step_done(ledger, StepDone(agent, bead, attempt - 1, "b"))
    st = mol_status(ledger, bead)
    assert st["kind"] == "checklist" and st["next"] == "b"
    assert [(s["id"], s["done"], s["done_by"]) for s in st["steps"]] == [
        ("a", True, agent),
        ("b", False, None),
    ]


def test_the_first_tick_without_a_checklist_attaches_the_polecat_work_one(
    ledger: Ledger,
) -> None:
    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked_agent(ledger)
    ticked = step_done(ledger, StepDone(agent, bead, attempt, "orient"))
    assert ticked.checklist.formula == "polecat-work" and ticked.checklist.attached
    assert ticked.checklist.next_step == "implement"


def agent_env(town: Town, agent: str, bead: str, attempt: int) -> dict[str, str]:
    return {
        "GT_TOWN": town.root,
        "GT_AGENT_ID": agent,
        "GT_BEAD": bead,
        "GT_ATTEMPT": str(attempt),
    }


def test_gt_prime_shows_the_polecat_work_checklist_without_importing_pydantic(
    ledger: Ledger, town: Town
) -> None:
    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked_agent(ledger)
    code = (
        "import sys\nfrom engine.cli.main import main\ncode = main(['prime'])\n"
        "print('LOADED=' + ','.join(m for m in ('pydantic', 'git') if m in sys.modules))\n"
    )
    env = {**os.environ, **agent_env(town, agent, bead, attempt)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert "Checklist (polecat-work)" in proc.stdout, proc.stderr
    assert "[>] 1. orient: Read your hook" in proc.stdout
    assert "LOADED=\n" in proc.stdout
    tick = gt("step", "done", "orient", env=agent_env(town, agent, bead, attempt))
    assert tick.returncode == 0 and "Next: implement." in tick.stdout, tick.stderr
    primed = gt("prime", "--json", env=agent_env(town, agent, bead, attempt))
    checklist = json.loads(primed.stdout)["checklist"]
    assert (checklist["attached"], checklist["next"]) == (True, "implement")
    assert checklist["steps"][0]["done_by"] == agent


def test_a_ledger_of_schema_3_gains_the_checklist_table_on_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.db"
    with monkeypatch.context() as old:
        old.setattr(schema, "SCHEMA_VERSION", 3)
        old.setattr(schema, "MIGRATIONS", {v: schema.MIGRATIONS[v] for v in (1, 2, 3)})
        Ledger(path, create=True).close()
    with Ledger(path) as led:
        add_rig(led, "web", "gt")
        agent, bead, attempt = hooked_agent(led)
        assert step_done(led, StepDone(agent, bead, attempt, "orient")).newly


def test_layers_without_a_town_are_the_shipped_ones() -> None:
    assert FormulaSet(layers(None)).names() == SHIPPED


def test_the_app_s_dag_view_draws_a_molecule_as_it_draws_a_convoy(ledger: Ledger) -> None:
    from engine.views.town_snapshot import snapshot

    cooked = cook(ledger, Cook("shiny", ("feature=x",)), actor="mayor")
    shown = snapshot(ledger, TownConfig(), convoy_id=cooked.molecule)
    assert cooked.molecule in [c["id"] for c in shown["convoys"]]
    graph = shown["convoy"]
    bead = {s.id: s.bead for s in cooked.steps}
    assert graph["id"] == cooked.molecule and len(graph["beads"]) == 5
    assert sorted(graph["edges"]) == sorted(
        [
            (bead["design"], bead["implement"]),
            (bead["implement"], bead["review"]),
            (bead["implement"], bead["test"]),
            (bead["review"], bead["submit"]),
            (bead["test"], bead["submit"]),
        ]
    )


def test_the_bead_detail_shows_its_checklist_with_ticks(ledger: Ledger, town: Town) -> None:
    from engine.views.town_snapshot import bead_detail
    from gastown_tui.screens.detail import bead_text

    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked_agent(ledger)
    plain = bead_text(bead_detail(ledger, town, bead)).plain
    assert "Checklist" not in plain  # nothing attached: no section
    step_done(ledger, StepDone(agent, bead, attempt, "orient"))
    plain = bead_text(bead_detail(ledger, town, bead)).plain
    assert "Checklist (polecat-work)" in plain
    assert f"✓ done orient: Read your hook and its dependencies  — {agent} attempt 1" in plain
    assert "☐ todo implement: Do the work on your branch" in plain
