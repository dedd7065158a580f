"""Finding formulas in their layers, reading them strictly, resolving `extends`.

Layers, later overriding earlier by name: shipped with Gas Town (engine/formulas/shipped/),
the town's `formulas/`, a rig's `.gastown/formulas/` (in its canonical clone). A formula
is the file `NAME.formula.toml`, and its `formula` key must say NAME. `extends = "base"`
inherits base's vars and steps (a step with the same id replaces the inherited one in
place; a new one is added at the end); a formula that extends its own name extends the
same name in the layers below it (a town adding a step to the shipped `feature`).

Every refusal is one line naming the file and line (`shiny.formula.toml:12: ...`).
"""

from __future__ import annotations

import os
import tomllib
from typing import Any, NamedTuple

from pydantic import ValidationError

from engine.errors import GtError
from engine.formulas.formula_file import FormulaFile
from engine.formulas.shapes import (
    FILE_SUFFIX,
    NAME_RULE,
    VAR_REF,
    Formula,
    Step,
    Var,
)
from engine.plans import _problem as _plan_problem
from engine.plans import find_cycle
from engine.tomllines import TomlLines

SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shipped")


class Layer(NamedTuple):
    name: str  # "shipped", "town", "rig web"
    folder: str


def layers(
    town_root: str | None, rig: str | None = None, rig_path: str | None = None
) -> list[Layer]:
    out = [Layer("shipped", SHIPPED)]
    if town_root:
        out.append(Layer("town", os.path.join(town_root, "formulas")))
    if rig and rig_path:
        out.append(Layer(f"rig {rig}", os.path.join(rig_path, ".gastown", "formulas")))
    return out


class _Read(NamedTuple):
    data: FormulaFile
    lines: TomlLines
    layer: int


class FormulaSet:
    """The formulas visible from one place (the town, or one rig of it)."""

    def __init__(self, found_in: list[Layer]) -> None:
        self.layers = found_in
        # name -> [(layer index, path)], lowest layer first
        self.files: dict[str, list[tuple[int, str]]] = {}
        for n, layer in enumerate(found_in):
            try:
                entries = sorted(os.listdir(layer.folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                raise GtError(f"cannot read {layer.folder}: {exc.strerror}") from None
            for entry in entries:
                if entry.endswith(FILE_SUFFIX) and not entry.startswith("."):
                    name = entry[: -len(FILE_SUFFIX)]
                    path = os.path.join(layer.folder, entry)
                    self.files.setdefault(name, []).append((n, path))
        self._read: dict[str, _Read] = {}

    def names(self) -> list[str]:
        return sorted(self.files)

    def get(self, name: str) -> Formula:
        """The formula NAME from the top layer that has it, `extends` resolved."""
        if name not in self.files:
            known = ", ".join(self.names()) or "none"
            raise GtError(f"no formula {name!r} (known: {known}; see `gt formula list`)")
        return self._resolve(name, len(self.layers), [])

    def all(self) -> list[Formula]:
        return [self.get(name) for name in self.names()]

    def _resolve(self, name: str, below: int, chain: list[str]) -> Formula:
        candidates = [(n, p) for n, p in self.files.get(name, []) if n < below]
        top_layer, path = candidates[-1]
        read = self._file(path, name, top_layer)
        data, lines = read.data, read.lines
        where_extends = lines.locate((), "extends")
        if path in chain:
            loop = " → ".join(os.path.basename(p) for p in [*chain, path])
            raise GtError(f"{where_extends}: extends loops back: {loop}")
        vars_: dict[str, Var] = {}
        steps: list[Step] = []
        if data.extends is not None:
            parent = data.extends
            parent_below = top_layer if parent == name else len(self.layers)
            if not any(n < parent_below for n, _ in self.files.get(parent, [])):
                lower = " in a lower layer" if parent == name else ""
                raise GtError(f"{where_extends}: extends unknown formula {parent!r}{lower}")
            base = self._resolve(parent, parent_below, [*chain, path])
            vars_.update(base.vars)
            steps.extend(base.steps)
        for var_name, var_spec in data.vars.items():
            where = lines.locate_path(("vars", var_name))
            if not NAME_RULE.match(var_name) or VAR_REF.fullmatch("{{" + var_name + "}}") is None:
                raise GtError(f"{where}: {var_name!r} is not a variable name")
            vars_[var_name] = Var(
                var_name, var_spec.description, var_spec.required, var_spec.default, where
            )
        own: set[str] = set()
        for nth, spec in enumerate(data.steps, 1):
            step = Step(
                spec.id,
                spec.title,
                spec.description,
                spec.acceptance,
                tuple(spec.needs),
                spec.rig,
                lines,
                nth,
            )
            if not NAME_RULE.match(spec.id):
                raise GtError(
                    f"{step.locate('id')}: step id {spec.id!r} must be letters, digits, "
                    f"'.', '_' or '-'"
                )
            if spec.id in own:
                raise GtError(f"{step.locate('id')}: duplicate step id {spec.id!r}")
            own.add(spec.id)
            at = next((i for i, s in enumerate(steps) if s.id == spec.id), None)
            if at is None:
                steps.append(step)
            else:
                steps[at] = step
        formula = Formula(
            name=name,
            description=data.description,
            type=data.type,
            version=data.version,
            extends=data.extends,
            vars=vars_,
            steps=tuple(steps),
            path=path,
            layer=self.layers[top_layer].name,
            overrides=tuple(p for _n, p in candidates[:-1]),
        )
        check(formula)
        return formula

    def _file(self, path: str, name: str, layer: int) -> _Read:
        if path not in self._read:
            self._read[path] = read_file(path, name, layer)
        return self._read[path]


def _problem(err: Any) -> tuple[str, str]:
    """A pydantic error in a person's words (the plan files' wording, and booleans)."""
    if err["type"] == "bool_type" and err["loc"]:
        field = str(err["loc"][-1])
        return field, f"{field} must be true or false, not {err.get('input')!r}"
    return _plan_problem(err)


def read_file(path: str, name: str, layer: int = 0) -> _Read:
    """One file, strictly: TOML, then the shape, then its `formula` key against its name."""
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
        raw: dict[str, Any] = tomllib.loads(text)
    except OSError as exc:
        raise GtError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise GtError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise GtError(f"{path}: not valid TOML: {exc}") from None
    lines = TomlLines(path, text)
    try:
        data = FormulaFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(x) for x in err["loc"]]
        if loc and loc[0] == "steps" and len(loc) > 2 and loc[1].isdigit():
            where = lines.locate(("steps",), loc[2], nth=int(loc[1]) + 1)
            _field, problem = _problem({**err, "loc": err["loc"][2:]})
            problem = f"step #{int(loc[1]) + 1}: {problem}"
        elif loc and loc[0] == "vars" and len(loc) > 2:
            where = lines.locate_path(tuple(loc[:3]))
            _field, problem = _problem({**err, "loc": err["loc"][2:]})
            problem = f"[vars.{loc[1]}]: {problem}"
        elif loc and loc[0] == "type" and err["type"] == "literal_error":
            where = lines.locate((), "type")
            problem = f'type must be "workflow" or "checklist", not {err.get("input")!r}'
        else:
            _field, problem = _problem(err)
            where = lines.locate((), loc[0] if loc else None)
        raise GtError(f"{where}: {problem}") from None
    if data.formula != name:
        raise GtError(
            f"{lines.locate((), 'formula')}: formula = {data.formula!r}, but the file is "
            f"named for {name!r} ({name}{FILE_SUFFIX})"
        )
    return _Read(data, lines, layer)


def check(formula: Formula) -> None:
    """What only the whole (extended) formula can tell: steps, needs, cycles, variables."""
    if not formula.steps:
        raise GtError(f"{formula.path}: formula {formula.name!r} has no [[steps]]")
    ids = {s.id for s in formula.steps}
    for step in formula.steps:
        for need in step.needs:
            if need == step.id:
                raise GtError(f"{step.locate('needs')}: step {step.id!r} needs itself")
            if need not in ids:
                raise GtError(
                    f"{step.locate('needs')}: step {step.id!r} needs {need!r}, which is "
                    f"not a step of {formula.name!r} (steps: {', '.join(sorted(ids))})"
                )
        for field in ("title", "description", "acceptance"):
            for ref in VAR_REF.findall(getattr(step, field)):
                if ref not in formula.vars:
                    raise GtError(
                        f"{step.locate(field)}: step {step.id!r} uses {{{{{ref}}}}}, which "
                        f"is not declared ([vars.{ref}])"
                    )
    cycle = find_cycle({s.id: list(s.needs) for s in formula.steps})
    if cycle:
        first = next(s for s in formula.steps if s.id == cycle[0])
        raise GtError(
            f"{first.locate('needs')}: the steps' needs form a cycle: {' → '.join(cycle)}"
        )
