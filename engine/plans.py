"""Convoy plans: several beads with `needs` between them, validated before anything is written.

A plan file (TOML):

    title = "Auth overhaul"          # optional; the command line's TITLE wins
    [[bead]]
    key = "schema"                   # a local name other beads can `need`
    title = "Add the users table"
    rig = "backend"                  # optional: rig-less beads are placed at dispatch
    priority = 1                     # optional, 0-4 (default 2)
    type = "task"                    # optional
    labels = ["python"]              # optional
    body = "..."                     # optional
    runtime = "codex"                # optional: default its rig's runtime, else the town's
    needs = ["other-key", "gt-a1b2"] # plan keys or existing bead ids
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING, Any

# pydantic costs ~50 ms to import: fine here, `gt convoy create --plan` is no hot path
from pydantic import BaseModel, ConfigDict, ValidationError

from engine import vocab
from engine.errors import GtError, UsageError
from engine.ids import check_bead_id
from engine.ledger.beads import check_priority, check_title, check_type
from engine.tomllines import TomlLines

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger


class PlanBead(BaseModel):
    """One [[bead]] of a plan. Plans come from people and scripts: every field has one
    type, checked before anything is written (TOML happily gives `title = 5`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    key: str | None = None
    title: str
    rig: str | None = None
    priority: int = vocab.DEFAULT_PRIORITY
    type: str = "task"
    labels: list[str] = []
    body: str = ""
    runtime: str | None = None
    needs: list[str] = []


class PlanFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: str | None = None
    bead: list[dict[str, Any]] = []


class PlanEntries(list[dict[str, Any]]):
    """A plan file's [[bead]] tables, knowing where each field is written in the file
    (tomllib keeps no positions), so an error can say `plan.toml:7`."""

    def __init__(self, items: list[dict[str, Any]], path: str, text: str) -> None:
        super().__init__(items)
        self.path = path
        self.text = TomlLines(path, text)

    def locate(self, bead: int | None, field: str | None) -> str:
        """`path:LINE` of `field` in the bead-th [[bead]] table (1-based; None: top level),
        else of the table's header, else just the path."""
        if bead is None:
            return self.text.locate((), field)
        return self.text.locate(("bead",), field, nth=bead)


def _problem(err: Any) -> tuple[str, str]:
    """(the field, what is wrong with it) from a pydantic error, in a person's words."""
    loc = [str(x) for x in err["loc"]]
    field = loc[0] if loc else "?"
    shown = field + "".join(f"[{x}]" for x in loc[1:])
    kind = err["type"]
    got = err.get("input")
    got_text = repr(got) if len(repr(got)) <= 40 else repr(got)[:37] + "..."
    if kind == "missing":
        return field, f"{shown} is missing"
    if kind == "extra_forbidden":
        return field, f"unknown field {shown}"
    wanted = {
        "string_type": "a string",
        "int_type": "an integer",
        "list_type": "a list",
        "dict_type": "a table",
    }.get(kind)
    if wanted:
        return field, f"{shown} must be {wanted}, not {got_text}"
    return field, f"{shown}: {err['msg']}"


def load_plan(path: str) -> tuple[str | None, list[dict[str, Any]]]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise GtError(f"no such plan file: {path}") from None
    except IsADirectoryError:
        raise GtError(f"{path} is a directory, not a plan file") from None
    except OSError as exc:
        raise GtError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise GtError(f"{path}: not valid TOML: {exc}; nothing was created") from None
    except UnicodeDecodeError:
        raise GtError(f"{path}: not UTF-8 text; nothing was created") from None
    entries = PlanEntries([], path, text)
    try:
        plan = PlanFile.model_validate(data)
    except ValidationError as exc:
        field, problem = _problem(exc.errors()[0])
        if field == "bead" and len(exc.errors()[0]["loc"]) <= 1:
            problem = "bead must be a list of tables ([[bead]] entries)"
        raise GtError(f"{entries.locate(None, field)}: {problem}; nothing was created") from None
    if not plan.bead:
        raise GtError(f"{path}: no [[bead]] entries; nothing was created")
    entries.extend(plan.bead)
    return plan.title or None, entries


def validate_plan(
    ledger: Ledger, items: list[Any], source: str, config: TownConfig | None = None
) -> list[dict[str, Any]]:
    """Normalise and check every entry; refuse cycles. Raises before any write.

    Errors name the entry, its field and, for entries read from a file, the line. A runtime
    an entry names must be one of `config`'s (without a config: a preset)."""
    from engine.commands.bead_actions import check_runtime

    locate = getattr(items, "locate", None)

    def where(n: int | None, field: str | None) -> str:
        return locate(n, field) if locate else source

    out: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    rigs = {r["name"] for r in ledger.rigs.list()}
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise GtError(f"{where(n, None)}: bead #{n}: expected a table; nothing was created")
        try:
            bead = PlanBead.model_validate(item)
        except ValidationError as exc:
            field, problem = _problem(exc.errors()[0])
            named = item.get("key")
            label = f"bead #{n}" + (f" ({named!r})" if isinstance(named, str) else "")
            raise GtError(f"{where(n, field)}: {label}: {problem}; nothing was created") from None
        key = bead.key or f"bead{n}"
        label = f"bead #{n} ({key!r})"
        if key in index:
            raise GtError(f"{where(n, 'key')}: {label}: duplicate key; nothing was created")
        index[key] = n
        try:
            entry = {
                "key": key,
                "title": _checked("title", check_title, bead.title),
                "priority": _checked("priority", check_priority, bead.priority),
                "type": _checked("type", check_type, bead.type),
                "runtime": _checked("runtime", lambda r: check_runtime(r, config), bead.runtime),
                "body": bead.body,
                "labels": bead.labels,
                "needs": bead.needs,
                "rig": bead.rig,
            }
        except _FieldError as exc:
            raise GtError(
                f"{where(n, exc.field)}: {label}: {exc.message}; nothing was created"
            ) from None
        if entry["rig"] is not None and entry["rig"] not in rigs:
            raise GtError(
                f"{where(n, 'rig')}: {label}: unknown rig {entry['rig']!r}; nothing was created"
            )
        out.append(entry)
    for entry in out:
        at = where(index[entry["key"]], "needs")
        for need in entry["needs"]:
            if need == entry["key"]:
                raise GtError(f"{at}: {need!r} needs itself; nothing was created")
            if need not in index:
                try:
                    check_bead_id(need)  # the one id rule: plans are a door ids come in by
                except UsageError as exc:
                    raise GtError(
                        f"{at}: {entry['key']!r} needs {exc.message}; nothing was created"
                    ) from None
            if need not in index and ledger.beads.get(need) is None:
                raise GtError(
                    f"{at}: {entry['key']!r} needs {need!r}, which is neither a "
                    f"key in the plan nor a bead; nothing was created"
                )
    cycle = find_cycle({e["key"]: [x for x in e["needs"] if x in index] for e in out})
    if cycle:
        raise GtError(
            f"{where(index[cycle[0]], 'needs')}: the plan has a cycle: "
            f"{' → '.join(cycle)}; nothing was created"
        )
    return out


class _FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _checked(field: str, check: Any, value: Any) -> Any:
    """The ledger's own rule for a field, its refusal tagged with the field's name."""
    try:
        return check(value)
    except UsageError as exc:
        raise _FieldError(field, exc.message) from None


def find_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """A cycle in a small graph (node → what it needs), as a closed path, or None."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(edges, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        color[node] = grey
        stack.append(node)
        for nxt in edges.get(node, ()):
            if color.get(nxt, black) == grey:
                return [*stack[stack.index(nxt) :], nxt]
            if color.get(nxt) == white:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        color[node] = black
        return None

    for node in list(edges):
        if color[node] == white:
            found = visit(node)
            if found:
                return found
    return None
