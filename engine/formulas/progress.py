"""`gt mol status`: a molecule's steps as beads, or a bead's checklist with its ticks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.errors import NotFound

if TYPE_CHECKING:
    from engine.ledger import Ledger


def molecule_status(ledger: Ledger, ident: str) -> dict[str, Any]:
    """The documented JSON shape (`gt mol status --json`, `gt schema mol-status`)."""
    from engine.ledger.checklists import ChecklistStore

    with ledger.snapshot():
        bead = ledger.beads.get(ident)
        if bead is None:
            raise NotFound(f"no molecule or bead {ident} (see `gt convoy list`)")
        if bead["type"] == "molecule" and ledger.convoys.get(ident) is not None:
            return _molecule(ledger, ident)
        checklist = ChecklistStore(ledger).steps(ident)
        if not checklist:
            raise NotFound(
                f"{ident} is a {bead['type']} with no checklist, not a molecule "
                f"(molecules: `gt formula cook`; checklists: `gt sling ID --formula NAME`)"
            )
        steps: list[dict[str, Any]] = [
            {
                "id": s["step_id"],
                "title": s["title"],
                "status": "done" if s["done_at"] else "todo",
                "done": s["done_at"] is not None,
                "bead": None,
                "rig": bead["rig"],
                "assignee": None,
                "needs": [],
                "done_by": s["done_by"],
                "done_attempt": s["done_attempt"],
            }
            for s in checklist
        ]
        return _shape(bead, "checklist", checklist[0]["formula"], bead["status"], steps)


def _molecule(ledger: Ledger, ident: str) -> dict[str, Any]:
    convoy = ledger.convoys.require(ident)
    step_of: dict[str, str] = {}
    beads = []
    for bid in convoy["beads"]:
        b = ledger.beads.require(bid)
        beads.append(b)
        step_of[bid] = str((b["metadata"] or {}).get("step") or bid)
    steps = []
    for b in beads:
        needs = [
            step_of.get(e["id"], e["id"])
            for e in ledger.graph.edges_of(b["id"])["depends_on"]
            if e["type"] == vocab.BLOCKS
        ]
        steps.append(
            {
                "id": step_of[b["id"]],
                "title": b["title"],
                "status": str(b["status"]),
                "done": b["status"] == vocab.CLOSED,
                "bead": b["id"],
                "rig": b["rig"],
                "assignee": b["assignee"],
                "needs": needs,
                "done_by": None,
                "done_attempt": None,
            }
        )
    formula = str((convoy["metadata"] or {}).get("formula") or "")
    return _shape(convoy, "molecule", formula, str(convoy["status"]), steps)


def _shape(
    bead: Any, kind: str, formula: str, status: str, steps: list[dict[str, Any]]
) -> dict[str, Any]:
    done = sum(1 for s in steps if s["done"])
    return {
        "id": bead["id"],
        "title": bead["title"],
        "kind": kind,
        "formula": formula,
        "status": str(status),
        "progress": {"total": len(steps), "done": done},
        "next": next((s["id"] for s in steps if not s["done"]), None),
        "steps": steps,
    }
