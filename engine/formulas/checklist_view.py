"""A bead's checklist as its agent sees it (`gt prime`, `gt step done`): the one attached
to it, else the polecat work checklist. Read on `gt prime`'s path: no pydantic unless the
polecat work checklist was overridden by something only the full loader reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from engine.errors import GtError

if TYPE_CHECKING:
    from engine.formulas.shapes import Formula
    from engine.ledger import Ledger
    from engine.records import Bead


class ChecklistView(NamedTuple):
    """A bead's checklist as its agent sees it: attached, or the polecat work checklist
    (attached at the agent's first tick)."""

    formula: str
    attached: bool
    steps: tuple[dict[str, Any], ...]  # id, title, description, acceptance, done, done_by…

    @property
    def next_step(self) -> str | None:
        """Where a session (a fresh one after a crash or handoff) resumes."""
        return next((s["id"] for s in self.steps if not s["done"]), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "formula": self.formula,
            "attached": self.attached,
            "next": self.next_step,
            "steps": list(self.steps),
        }


def checklist_of(ledger: Ledger, bead: Bead) -> ChecklistView | None:
    """The bead's checklist for `gt prime`: no pydantic unless the polecat work checklist
    was overridden by something only the full loader reads."""
    from engine.ledger.checklists import ChecklistStore

    attached = ChecklistStore(ledger).steps(bead["id"])
    if attached:
        return ChecklistView(attached[0]["formula"], True, tuple(view_of(s) for s in attached))
    formula = polecat_work(ledger, bead["rig"])
    if formula is None:
        return None
    return ChecklistView(
        formula.name,
        False,
        tuple(
            view_of(
                {
                    "step_id": s.id,
                    "title": s.title,
                    "description": s.description,
                    "acceptance": s.acceptance,
                    "done_at": None,
                    "done_by": None,
                    "done_attempt": None,
                }
            )
            for s in formula.steps
        ),
    )


def view_of(step: Any) -> dict[str, Any]:
    return {
        "id": step["step_id"],
        "title": step["title"],
        "description": step["description"],
        "acceptance": step["acceptance"],
        "done": step["done_at"] is not None,
        "done_at": step["done_at"],
        "done_by": step["done_by"],
        "done_attempt": step["done_attempt"],
    }


def polecat_work(ledger: Ledger, rig: str | None) -> Formula | None:
    from engine.formulas.lean import plain_checklist
    from engine.formulas.shapes import POLECAT_WORK

    rig_row = ledger.rigs.get(rig) if rig else None
    rig_path = rig_row["path"] if rig_row else None
    from engine.formulas.found import formulas_for, town_root_of

    found = plain_checklist(POLECAT_WORK, town_root_of(ledger), rig_path)
    if found is not None:
        return found
    try:  # overridden with extends or variables: the full loader reads it (or says why not)
        formula = formulas_for(ledger, rig if rig_row else None).get(POLECAT_WORK)
    except GtError:
        return None
    return formula
