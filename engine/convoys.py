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
    needs = ["other-key", "gt-a1b2"] # plan keys or existing bead ids
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.errors import GtError, UsageError
from engine.ledger.beads import check_priority, check_title, check_type

if TYPE_CHECKING:
    from engine.ledger import Ledger

_ITEM_KEYS = {"key", "title", "rig", "priority", "type", "labels", "body", "needs"}


def load_plan(path: str) -> tuple[str | None, list[dict[str, Any]]]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise GtError(f"no such plan file: {path}") from None
    except OSError as exc:
        raise GtError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise GtError(f"{path}: not valid TOML: {exc}; nothing was created") from None
    except UnicodeDecodeError:
        raise GtError(f"{path}: not UTF-8 text; nothing was created") from None
    items = data.get("bead")
    if not isinstance(items, list) or not items:
        raise GtError(f"{path}: no [[bead]] entries; nothing was created")
    title = data.get("title")
    return (str(title) if title else None), items


def validate_plan(ledger: Ledger, items: list[Any], source: str) -> list[dict[str, Any]]:
    """Normalise and check every entry; refuse cycles. Raises before any write."""
    out: list[dict[str, Any]] = []
    keys: set[str] = set()
    rigs = {r["name"] for r in ledger.rigs.list()}
    for n, item in enumerate(items, 1):
        where = f"{source}: bead #{n}"
        if not isinstance(item, dict):
            raise GtError(f"{where}: expected a table; nothing was created")
        unknown = set(item) - _ITEM_KEYS
        if unknown:
            raise GtError(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))}; nothing was created"
            )
        key = str(item.get("key") or f"bead{n}")
        where = f"{source}: bead #{n} ({key!r})"
        if key in keys:
            raise GtError(f"{where}: duplicate key; nothing was created")
        keys.add(key)
        try:
            entry = {
                "key": key,
                "title": check_title(str(item.get("title", ""))),
                "priority": check_priority(item.get("priority", vocab.DEFAULT_PRIORITY)),
                "type": check_type(str(item.get("type", "task"))),
                "body": str(item.get("body", "")),
                "labels": [str(x) for x in item.get("labels", [])],
                "needs": [str(x) for x in item.get("needs", [])],
                "rig": item.get("rig"),
            }
        except UsageError as exc:
            raise GtError(f"{where}: {exc.message}; nothing was created") from None
        if entry["rig"] is not None and entry["rig"] not in rigs:
            raise GtError(f"{where}: unknown rig {entry['rig']!r}; nothing was created")
        out.append(entry)
    for entry in out:
        for need in entry["needs"]:
            if need == entry["key"]:
                raise GtError(f"{source}: {need!r} needs itself; nothing was created")
            if need not in keys and ledger.beads.get(need) is None:
                raise GtError(
                    f"{source}: {entry['key']!r} needs {need!r}, which is neither a "
                    f"key in the plan nor a bead; nothing was created"
                )
    cycle = find_cycle({e["key"]: [x for x in e["needs"] if x in keys] for e in out})
    if cycle:
        raise GtError(f"{source}: the plan has a cycle: {' → '.join(cycle)}; nothing was created")
    return out


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
