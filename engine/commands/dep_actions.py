"""Dependencies: add or remove an edge between two beads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from engine.ledger import Ledger


class DepEdge(NamedTuple):
    """BEAD_ID depends on DEPENDS_ON (a bead id, or external:PROJECT:ID)."""

    bead_id: str
    depends_on: str
    dep_type: str = "blocks"


class DepAdded(NamedTuple):
    edge: DepEdge

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape (`gt dep add --json`)."""
        e = self.edge
        return {"bead_id": e.bead_id, "depends_on": e.depends_on, "type": e.dep_type}


class DepRemoved(NamedTuple):
    bead_id: str
    depends_on: str
    removed: int  # edges removed (all types when none was named)


def add(ledger: Ledger, edge: DepEdge, *, actor: str) -> DepAdded:
    """Refused: an unknown bead, an unknown type, a duplicate, a bead depending on itself,
    and a blocking edge that would make a cycle (readiness could never be reached)."""
    from engine.ids import check_dep_target

    check_dep_target(edge.depends_on)  # an external:... target is stored without a bead
    with ledger.transaction():
        ledger.graph.add(edge.bead_id, edge.depends_on, edge.dep_type, actor=actor)
    return DepAdded(edge)


def remove(
    ledger: Ledger, bead_id: str, depends_on: str, dep_type: str | None = None, *, actor: str
) -> DepRemoved:
    """Remove the edge of that type (or of any type); the bead may become ready."""
    with ledger.transaction():
        removed = ledger.graph.remove(bead_id, depends_on, dep_type, actor=actor)
    return DepRemoved(bead_id, depends_on, removed)
