"""The shape of a formula file, as the original Gas Town writes it, checked strictly.

    formula = "shiny"
    description = "..."
    type = "workflow"            # or "checklist"
    version = 1
    extends = "base"             # optional: inherit steps and vars, override by step id
    [vars.feature]
    description = "The feature being implemented"
    required = true
    [vars.assignee]
    default = ""
    [[steps]]
    id = "design"
    title = "Design {{feature}}"
    description = "..."
    acceptance = "..."
    needs = []                   # step ids of this formula
    rig = "backend"              # optional: the rig this step's bead is filed in

Unknown keys are refused (a typo must not be silently ignored), and no value is coerced
(TOML happily gives `required = "yes"`).
"""

from __future__ import annotations

from typing import Literal

# pydantic costs ~50 ms to import: cooking, listing and showing formulas pay it, `gt prime`
# does not (engine/formulas/lean.py)
from pydantic import BaseModel, ConfigDict


class VarSpec(BaseModel):
    """One `[vars.NAME]` table."""

    model_config = ConfigDict(extra="forbid", strict=True)

    description: str = ""
    required: bool = False
    default: str | None = None


class StepSpec(BaseModel):
    """One `[[steps]]` entry."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str
    title: str
    description: str = ""
    acceptance: str = ""
    needs: list[str] = []
    rig: str | None = None


class FormulaFile(BaseModel):
    """A whole formula file."""

    model_config = ConfigDict(extra="forbid", strict=True)

    formula: str
    description: str = ""
    type: Literal["workflow", "checklist"] = "workflow"
    version: int = 1
    extends: str | None = None
    vars: dict[str, VarSpec] = {}
    steps: list[StepSpec] = []
