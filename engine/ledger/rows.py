"""Rows to plain dicts using the ledger's field names (the `--json` shape)."""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from engine.ledger.db import Row
    from engine.records import Agent, Bead, EventRow

BEAD_FIELDS = (
    "id",
    "title",
    "status",
    "priority",
    "type",
    "rig",
    "assignee",
    "labels",
    "created_at",
    "updated_at",
    "closed_at",
    "close_reason",
    "created_by",
    "body",
    "metadata",
    "defer_until",
    "ephemeral",
    "slung",
    "attempt",
    "failures",
    "last_error",
    "blocked",
    "runtime",
)


def _loads(text: str) -> Any:
    # Most beads have no labels or metadata: skip the parser for the empty cases.
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return json.loads(text)


def bead(row: Row, *, extra: bool = False) -> Bead:
    # Built key by key from the row (Any): tests/test_records.py checks the result is a Bead
    # (a BeadWithExtra with `extra`).
    d: Any = dict(zip(BEAD_FIELDS, (row[k] for k in BEAD_FIELDS), strict=True))
    d["labels"] = _loads(d["labels"])
    d["metadata"] = _loads(d["metadata"])
    d["ephemeral"] = bool(d["ephemeral"])
    d["slung"] = bool(d["slung"])
    d["blocked"] = bool(d["blocked"])
    if extra:
        d["extra"] = json.loads(row["extra"])
    return d


def agent(row: Row) -> Agent:
    d: Any = dict(row)  # the row's columns: tests/test_records.py checks it is an Agent
    d["info"] = json.loads(d["info"])
    return d


def event(row: Row) -> EventRow:
    d: Any = dict(row)  # the row's columns: tests/test_records.py checks it is an EventRow
    d["data"] = json.loads(d["data"])
    return d


def check_decided_on(bead: Row, failures: int) -> None:
    """A retry decision names the failure count it was made for; one made on a stale read
    (outside the writing transaction) would skip or repeat a rung, so it is refused."""
    if failures != int(bead["failures"]) + 1:
        from engine.errors import Conflict

        raise Conflict(
            f"{bead['id']} has {bead['failures']} failures, not {failures - 1}; nothing was changed"
        )
