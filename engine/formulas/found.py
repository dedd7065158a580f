"""Which formulas a place sees: the town's (shipped, then `formulas/`), or a rig's (its
`.gastown/formulas/` on top)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.formulas.loader import FormulaSet
    from engine.ledger import Ledger


def town_root_of(ledger: Ledger) -> str:
    """The town a ledger was opened for (a SQLite ledger lives at the town's root)."""
    return ledger.town_root or os.path.dirname(os.path.abspath(ledger.path))


def formulas_for(ledger: Ledger, rig: str | None = None) -> FormulaSet:
    """The formulas visible from the town, or from one rig (its `.gastown/formulas/` on
    top)."""
    from engine.formulas.loader import FormulaSet, layers

    rig_path = ledger.rigs.require(rig)["path"] if rig else None
    return FormulaSet(layers(town_root_of(ledger), rig, rig_path))
