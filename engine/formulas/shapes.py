"""A formula once read and resolved: plain tuples, no pydantic, so `gt prime` can hold one."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from engine.tomllines import TomlLines

FILE_SUFFIX = ".formula.toml"
# names and step ids are typed on command lines (`gt formula cook NAME`, `gt step done ID`)
NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# `{{feature}}` or `{{ feature }}`
VAR_REF = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")
WORKFLOW, CHECKLIST = "workflow", "checklist"
# the checklist every agent's `gt prime` shows when its bead has none of its own
POLECAT_WORK = "polecat-work"


class Var(NamedTuple):
    name: str
    description: str = ""
    required: bool = False
    default: str | None = None
    where: str = ""  # path:LINE of its table


class Step(NamedTuple):
    id: str
    title: str
    description: str = ""
    acceptance: str = ""
    needs: tuple[str, ...] = ()
    rig: str | None = None
    lines: TomlLines | None = None  # the file it was written in (None: read by lean.py)
    nth: int = 0  # its place among that file's [[steps]] (1-based)

    def locate(self, field: str | None = None) -> str:
        """`path:LINE` of one of this step's fields, for an error."""
        if self.lines is None:
            return "?"
        return self.lines.locate(("steps",), field, nth=self.nth)


class Formula(NamedTuple):
    name: str
    description: str
    type: str  # workflow or checklist
    version: int
    extends: str | None
    vars: dict[str, Var]
    steps: tuple[Step, ...]
    path: str  # the file that won (the top layer's)
    layer: str  # "shipped", "town" or "rig NAME"
    overrides: tuple[str, ...] = ()  # files of lower layers this one hides

    def step_ids(self) -> list[str]:
        return [s.id for s in self.steps]
