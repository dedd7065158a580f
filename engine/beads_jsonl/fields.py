"""Beads JSONL fields: the layouts, the line type, and how each Beads key maps to a ledger field.

Shared by reading (read.py) and writing (write.py): a key's normaliser and default decide
both what an import stores and whether an export can leave the key out.
"""

from __future__ import annotations

import json

# Annotations only: importing typing costs the CLI ~3 ms (mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

EMBEDDED = "embedded"
BACKUP = "backup"
LAYOUTS = (EMBEDDED, BACKUP)

DEFAULT_PRIORITY = 2
DEFAULT_TYPE = "task"
DEFAULT_STATUS = "open"
DEFAULT_DEP_TYPE = "blocks"


class BadLine(Exception):
    """One bad line: the message says what is wrong with it."""


class ImportBatch:
    """What one read produced: normalised beads and deps, and the bad lines."""

    __slots__ = ("beads", "deps", "errors", "layout")

    def __init__(self, layout: str) -> None:
        self.beads: list[dict[str, Any]] = []
        self.deps: list[dict[str, Any]] = []
        self.errors: list[tuple[int, str, str]] = []  # (line_number, file_name, message)
        self.layout = layout

    def __repr__(self) -> str:
        return (
            f"ImportBatch(layout={self.layout!r}, beads={len(self.beads)}, "
            f"deps={len(self.deps)}, errors={len(self.errors)})"
        )


# --- normalisers: raw Beads value -> ledger value (raise BadLine when unusable) ----------


def _n_text(v: Any) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else str(v)


def _n_opt(v: Any) -> str | None:
    # Verbatim: "" stays "" (Beads' backup writes "" for unset close_reason).
    if v is None or isinstance(v, str):
        return v
    return str(v)


def _n_opt_empty_none(v: Any) -> str | None:
    # For fields where "" means unset (defer_until, assignee).
    if v is None or v == "":
        return None
    return v if isinstance(v, str) else str(v)


def _n_status(v: Any) -> str:
    if v is None:
        return DEFAULT_STATUS
    return v if isinstance(v, str) else str(v)


def _n_type(v: Any) -> str:
    if v is None or v == "":
        return DEFAULT_TYPE
    return v if isinstance(v, str) else str(v)


def _n_priority(v: Any) -> int:
    if v is None:
        return DEFAULT_PRIORITY
    if type(v) is int:
        p = v
    elif (isinstance(v, float) and v.is_integer()) or (isinstance(v, str) and _int_like(v)):
        p = int(v)  # "2" or 2.0: int-like, accepted (the raw form is kept for export)
    else:
        raise BadLine(f"priority {json.dumps(v, ensure_ascii=False)[:40]} is not an integer")
    if not 0 <= p <= 4:
        raise BadLine(f"priority {p} is outside 0..4")
    return p


def _int_like(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _n_labels(v: Any) -> list[str]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise BadLine("labels is not a list")
    return [x if isinstance(x, str) else str(x) for x in v]


def _n_ephemeral(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes")
    return bool(v)


def _n_metadata(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    if v == "{}" or v is None or v == "":
        return {}
    if isinstance(v, str):
        try:
            parsed = json.loads(v)
        except ValueError:
            return {}  # unreadable: the raw string still round-trips via _raw
        return parsed if isinstance(parsed, dict) else {}
    return {}


# Beads key -> (ledger field, normaliser, default). Dict order is the canonical (embedded)
# key order for beads that have no recorded original order.
FIELDS: dict[str, tuple[str, Callable[[Any], Any] | None, Any]] = {
    "id": ("id", None, None),
    "title": ("title", None, None),
    "description": ("body", _n_text, ""),
    "status": ("status", _n_status, DEFAULT_STATUS),
    "priority": ("priority", _n_priority, DEFAULT_PRIORITY),
    "issue_type": ("type", _n_type, DEFAULT_TYPE),
    "assignee": ("assignee", _n_opt_empty_none, None),
    "created_at": ("created_at", _n_opt, None),
    "created_by": ("created_by", _n_opt, None),
    "updated_at": ("updated_at", _n_opt, None),
    "closed_at": ("closed_at", _n_opt, None),
    "close_reason": ("close_reason", _n_opt, None),
    "defer_until": ("defer_until", _n_opt_empty_none, None),
    "labels": ("labels", _n_labels, None),  # default [] (a fresh list per bead)
    "ephemeral": ("ephemeral", _n_ephemeral, False),
    "metadata": ("metadata", _n_metadata, None),  # default {} (a fresh dict per bead)
}
# Emitted even when default, for beads with no recorded key order (as Beads does).
ALWAYS = ("id", "title", "status", "priority", "issue_type")
DEP_FIELDS = ("issue_id", "depends_on_id", "type", "created_at", "created_by")


def default_value(key: str) -> Any:
    if key == "labels":
        return []
    if key == "metadata":
        return {}
    return FIELDS[key][2]


def same(a: Any, b: Any) -> bool:
    # Type-strict: 0 == False and 1.0 == 1 in Python, but not in the file.
    return type(a) is type(b) and a == b


def canon(key: str, value: Any, layout: str) -> Any:
    """The form a ledger value takes in the file when no original form is recorded."""
    if layout == BACKUP:
        if key == "ephemeral":
            return int(value)  # the backup layout stores booleans as 0/1
        if key == "metadata":
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value
