"""Rows to plain dicts using the ledger's field names (the `--json` shape)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

BEAD_FIELDS = (
    "id", "title", "status", "priority", "type", "rig", "assignee", "labels", "created_at",
    "updated_at", "closed_at", "close_reason", "created_by", "body", "metadata",
    "defer_until", "ephemeral", "slung", "attempt", "failures", "last_error", "blocked",
)


def bead(row: sqlite3.Row, *, extra: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {k: row[k] for k in BEAD_FIELDS}
    d["labels"] = json.loads(d["labels"])
    d["metadata"] = json.loads(d["metadata"])
    d["ephemeral"] = bool(d["ephemeral"])
    d["slung"] = bool(d["slung"])
    d["blocked"] = bool(d["blocked"])
    if extra:
        d["extra"] = json.loads(row["extra"])
    return d


def agent(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["info"] = json.loads(d["info"])
    return d


def event(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["data"] = json.loads(d["data"])
    return d
