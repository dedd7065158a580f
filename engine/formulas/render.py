"""Variables into a formula's words, and the DAG its steps make.

Values go into titles, descriptions and acceptance text only, and literally: a value is
never read again for `{{...}}`, and no command line is ever built from a step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import GtError, UsageError
from engine.formulas.shapes import VAR_REF

if TYPE_CHECKING:
    from engine.formulas.shapes import Formula, Step


def parse_vars(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`--var k=v` arguments (the first `=` splits; a value may hold more)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var {pair!r}: expected NAME=VALUE")
        key = key.strip()
        if key in out:
            raise UsageError(f"--var {key} is given twice")
        out[key] = value
    return out


def bind(formula: Formula, given: dict[str, str]) -> dict[str, str]:
    """Every variable's value: given, else its default. Refuses unknown and missing ones."""
    for key in given:
        if key not in formula.vars:
            takes = ", ".join(sorted(formula.vars)) or "no variables"
            raise GtError(
                f"{formula.path}: unknown variable {key!r} ({formula.name} takes: {takes})"
            )
    values: dict[str, str] = {}
    for name, var in formula.vars.items():
        if name in given:
            values[name] = given[name]
        elif var.default is not None:
            values[name] = var.default
        elif var.required:
            why = f": {var.description}" if var.description else ""
            raise GtError(
                f"{var.where or formula.path}: variable {name!r} is required{why} "
                f"(--var {name}=...)"
            )
        else:
            values[name] = ""
    return values


def substitute(text: str, values: dict[str, str]) -> str:
    return VAR_REF.sub(lambda m: values[m.group(1)], text)


def rendered(formula: Formula, values: dict[str, str]) -> list[Step]:
    """The steps with their words filled in; ids, needs and rigs are left as written."""
    return [
        s._replace(
            title=substitute(s.title, values),
            description=substitute(s.description, values),
            acceptance=substitute(s.acceptance, values),
        )
        for s in formula.steps
    ]


def waves(steps: list[Step]) -> list[list[Step]]:
    """The steps in the order they can run: each wave needs only earlier waves (the
    loader refused cycles, so every step lands in one)."""
    placed: dict[str, int] = {}
    pending = list(steps)
    out: list[list[Step]] = []
    while pending:
        wave = [s for s in pending if all(n in placed for n in s.needs)]
        for s in wave:
            placed[s.id] = len(out)
        out.append(wave)
        pending = [s for s in pending if s.id not in placed]
    return out


def body_of(step: Step) -> str:
    """A step bead's body: its description, then what counts as done."""
    parts = [step.description.strip()] if step.description.strip() else []
    if step.acceptance.strip():
        parts.append("Acceptance: " + step.acceptance.strip())
    return "\n\n".join(parts)
