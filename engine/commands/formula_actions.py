"""Formulas: list and show them, pour a workflow into a molecule, attach a checklist to a
bead, tick a checklist step, and read a molecule's or checklist's progress.

A molecule is a convoy whose bead is a `molecule`: one bead per step, `blocks` edges from
`needs`, written all or nothing by the convoy store (engine/ledger/convoys.py), slung
unless staged, so the scheduler runs each step when the steps it needs have landed.
Loading a formula costs pydantic; `gt prime` and `gt step done` only read the ledger, and
the shipped polecat work checklist through engine/formulas/lean.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from engine.errors import GtError, NotFound, UsageError

# `gt prime`'s path reads the checklist there without pydantic; the front ends call it here
from engine.formulas.checklist_view import ChecklistView, polecat_work, view_of
from engine.formulas.checklist_view import checklist_of as checklist_of
from engine.formulas.found import formulas_for

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.formulas.shapes import Formula, Step
    from engine.ledger import Ledger
    from engine.records import ChecklistStep

NOTHING_CREATED = "; nothing was created"


# ---- reading ------------------------------------------------------------------------


def describe(formula: Formula, *, full: bool) -> dict[str, Any]:
    """The documented JSON shape of a formula (`gt formula list|show --json`)."""
    out: dict[str, Any] = {
        "name": formula.name,
        "type": formula.type,
        "description": formula.description,
        "version": formula.version,
        "extends": formula.extends,
        "layer": formula.layer,
        "path": formula.path,
        "overrides": list(formula.overrides),
        "vars": {
            v.name: {"description": v.description, "required": v.required, "default": v.default}
            for v in formula.vars.values()
        },
    }
    if full:
        out["steps"] = [
            {
                "id": s.id,
                "title": s.title,
                "description": s.description,
                "acceptance": s.acceptance,
                "needs": list(s.needs),
                "rig": s.rig,
            }
            for s in formula.steps
        ]
    else:
        out["steps"] = len(formula.steps)
    return out


def list_formulas(ledger: Ledger, rig: str | None = None) -> list[dict[str, Any]]:
    return [describe(f, full=False) for f in formulas_for(ledger, rig).all()]


def show_formula(ledger: Ledger, name: str, rig: str | None = None) -> dict[str, Any]:
    return describe(formulas_for(ledger, rig).get(name), full=True)


# ---- pouring a molecule -------------------------------------------------------------


class Cook(NamedTuple):
    name: str
    vars: tuple[str, ...] = ()  # NAME=VALUE
    rig: str | None = None  # steps that name no rig are filed here (and its formulas count)
    staged: bool = False  # dispatch nothing until `gt convoy launch`
    dry_run: bool = False  # write nothing: say what would be poured


class PouredStep(NamedTuple):
    id: str
    title: str
    rig: str | None
    needs: tuple[str, ...]
    wave: int  # 0 runs first; a step runs once every step it needs has landed
    bead: str | None  # None in a dry run


class Cooked(NamedTuple):
    formula: str
    molecule: str | None  # None in a dry run
    title: str
    staged: bool
    steps: tuple[PouredStep, ...]
    vars: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape (`gt formula cook --json`)."""
        return {
            "formula": self.formula,
            "molecule": self.molecule,
            "title": self.title,
            "staged": self.staged,
            "dry_run": self.molecule is None,
            "vars": self.vars,
            "steps": [
                {
                    "id": s.id,
                    "title": s.title,
                    "rig": s.rig,
                    "needs": list(s.needs),
                    "wave": s.wave,
                    "bead": s.bead,
                }
                for s in self.steps
            ],
        }


def cook(ledger: Ledger, request: Cook, *, actor: str, config: TownConfig | None = None) -> Cooked:
    """Validate, then pour: the molecule bead, one bead per step and their edges, in one
    transaction; any refusal (a bad formula, a variable, an unknown rig) writes nothing."""
    from engine.formulas.render import bind, body_of, parse_vars, rendered, waves
    from engine.formulas.shapes import WORKFLOW

    try:
        given = parse_vars(request.vars)
        formula = formulas_for(ledger, request.rig).get(request.name)
        if formula.type != WORKFLOW:
            raise UsageError(
                f"{formula.name} is a checklist: attach it to a bead with "
                f"`gt sling ID --formula {formula.name}`"
            )
        values = bind(formula, given)
        for s in formula.steps:  # a step's own rig, named where it is written
            if s.rig is not None and ledger.rigs.get(s.rig) is None:
                raise NotFound(f"{s.locate('rig')}: step {s.id!r} names unknown rig {s.rig!r}")
    except GtError as exc:
        raise type(exc)(exc.message + NOTHING_CREATED) from None
    steps = rendered(formula, values)
    wave_of = {s.id: n for n, wave in enumerate(waves(steps)) for s in wave}
    shown = ", ".join(f"{k}={v}" for k, v in values.items() if v)
    title = f"{formula.name}: {shown}" if shown else formula.name
    poured = [
        PouredStep(s.id, s.title, s.rig or request.rig, s.needs, wave_of[s.id], None) for s in steps
    ]
    if request.dry_run:
        return Cooked(formula.name, None, title, request.staged, tuple(poured), values)
    from engine.plans import validate_plan

    items = [
        {"key": s.id, "title": s.title, "body": body_of(s), "rig": p.rig, "needs": list(s.needs)}
        for s, p in zip(steps, poured, strict=True)
    ]
    with ledger.transaction(durable=True):
        planned = validate_plan(ledger, items, formula.path, config)
        for entry in planned:
            entry["metadata"] = {"formula": formula.name, "step": entry["key"]}
        record = ledger.convoys.create_planned(
            title,
            planned,
            staged=request.staged,
            actor=actor,
            bead_type="molecule",
            metadata={"formula": formula.name, "vars": values},
        )
        beads = dict(zip((s.id for s in steps), record["beads"], strict=True))
        ledger.state.record_event(
            "molecule_poured",
            bead_id=record["id"],
            actor=actor,
            data={"formula": formula.name, "steps": beads, "vars": values},
        )
    return Cooked(
        formula.name,
        record["id"],
        title,
        request.staged,
        tuple(p._replace(bead=beads[p.id]) for p in poured),
        values,
    )


# ---- checklists ---------------------------------------------------------------------


class PreparedChecklist(NamedTuple):
    """A checklist formula rendered for the beads it is to be attached to, per rig (a
    rig's own formulas may override the town's)."""

    name: str
    by_rig: dict[str | None, tuple[tuple[str, str, str, str], ...]]


def prepare_checklist(
    ledger: Ledger, name: str, var_pairs: tuple[str, ...], rigs: set[str | None]
) -> PreparedChecklist:
    """Read and render a checklist formula for each rig, before any write (the files are
    read outside the transaction). Refuses a workflow formula and bad variables."""
    from engine.formulas.render import bind, parse_vars, rendered
    from engine.formulas.shapes import CHECKLIST

    given = parse_vars(var_pairs)
    by_rig: dict[str | None, tuple[tuple[str, str, str, str], ...]] = {}
    for rig in sorted(rigs, key=lambda r: r or ""):
        formula = formulas_for(ledger, rig).get(name)
        if formula.type != CHECKLIST:
            raise UsageError(
                f"{name} is a workflow: pour it with `gt formula cook {name}` "
                f"(only checklist formulas attach to a bead)"
            )
        steps = rendered(formula, bind(formula, given))
        by_rig[rig] = tuple(_row(s) for s in steps)
    return PreparedChecklist(name, by_rig)


def _row(step: Step) -> tuple[str, str, str, str]:
    return (step.id, step.title, step.description, step.acceptance)


def attach_checklist(
    ledger: Ledger, prepared: PreparedChecklist, bead_id: str, *, actor: str
) -> list[ChecklistStep]:
    """Inside the caller's transaction (a sling's): the steps onto the bead."""
    rig = ledger.beads.require(bead_id)["rig"]
    rows = prepared.by_rig.get(rig)
    if rows is None:
        raise GtError(f"{bead_id}: the checklist was not prepared for rig {rig!r}")
    return _checklists(ledger).attach(bead_id, prepared.name, rows, actor=actor)


def _checklists(ledger: Ledger) -> Any:
    from engine.ledger.checklists import ChecklistStore

    return ChecklistStore(ledger)


class StepDone(NamedTuple):
    """From an agent whose identity the caller has checked (its session token)."""

    agent_id: str
    bead_id: str
    attempt: int
    step: str


class Ticked(NamedTuple):
    step: str
    newly: bool  # False: it had been ticked already
    checklist: ChecklistView

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "newly": self.newly, "checklist": self.checklist.as_dict()}


def step_done(ledger: Ledger, request: StepDone) -> Ticked:
    """Tick a step of the hook's checklist, fenced by the attempt (a zombie's tick changes
    nothing). A bead without a checklist gets the polecat work checklist first."""
    bead = ledger.beads.require(request.bead_id)
    store = _checklists(ledger)
    default: tuple[tuple[str, str, str, str], ...] = ()
    if not store.steps(bead["id"]):
        work = polecat_work(ledger, bead["rig"])
        if work is None:
            raise NotFound(f"{bead['id']} has no checklist")
        default = tuple(_row(s) for s in work.steps)
        default_name = work.name
    with ledger.transaction(durable=True):
        ledger.agents.fence(request.bead_id, request.attempt, then="stop working on it")
        if default and not store.steps(bead["id"]):
            store.attach(bead["id"], default_name, default, actor=request.agent_id)
        steps = store.steps(bead["id"])
        if request.step not in {s["step_id"] for s in steps}:
            names = ", ".join(s["step_id"] for s in steps)
            raise NotFound(f"no step {request.step!r} in {bead['id']}'s checklist (steps: {names})")
        newly = store.tick(
            bead["id"], request.step, agent=request.agent_id, attempt=request.attempt
        )
        view = ChecklistView(
            steps[0]["formula"], True, tuple(view_of(s) for s in store.steps(bead["id"]))
        )
    return Ticked(request.step, newly, view)


def mol_status(ledger: Ledger, ident: str) -> dict[str, Any]:
    """A molecule's steps (as beads), or a bead's checklist with its ticks."""
    from engine.formulas.progress import molecule_status

    return molecule_status(ledger, ident)


def checklist_for_sling(
    ledger: Ledger, name: str, var_pairs: tuple[str, ...], ids: tuple[str, ...], new_rig: str | None
) -> PreparedChecklist:
    """`gt sling --formula`: the checklist rendered for every rig the slung beads are in."""
    rigs: set[str | None] = set()
    for ident in ids:
        convoy = ledger.convoys.get(ident)
        members = convoy["beads"] if convoy else [ident]
        rigs.update(ledger.beads.require(b)["rig"] for b in members)
    if new_rig is not None or not ids:
        rigs.add(new_rig)
    return prepare_checklist(ledger, name, var_pairs, rigs)
