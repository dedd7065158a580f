"""What needs a person, counted for the app's header: the circuit breaker, runtimes paused
by a rate or usage limit, agents held because their screen waits for a person, failed
beads, and spent budgets.

Counted from the snapshot's problem rows (engine/views/town_snapshot.py `problems`), so the
header and the Problems list can never disagree: a count's list is the Problems rows that
`matches` picks for its key.
"""

from __future__ import annotations

from typing import Any, TypedDict


class NeedCount(TypedDict):
    """One count of the header: `key` is what `matches` filters the Problems list by."""

    key: str
    count: int
    word: str  # what the count is of, for a person: "paused", "need you", "failed"
    state: str  # for the breaker: "open" / "half-open"; else ""


# In the header's order: what stops the whole town first, then what stops one runtime,
# one agent, one bead; money last.
NEED_KEYS = ("critical", "breaker", "paused", "needs_you", "failed", "budget")
WORDS = {
    "critical": "critical",  # unacknowledged escalations whose route shows a banner
    "breaker": "breaker",
    "paused": "paused",
    "needs_you": "need you",
    "failed": "failed",
    "budget": "budget spent",
}


def matches(problem: dict[str, Any], key: str) -> bool:
    """Whether a Problems row belongs to the header count `key` (an empty key: all rows)."""
    if not key:
        return True
    if key == "needs_you":
        return bool(problem.get("needs_you"))
    if key == "critical":
        return bool(problem.get("banner"))
    return bool(problem["kind"] == key)


def header_counts(problems: list[dict[str, Any]]) -> list[NeedCount]:
    """Every count, zero or not, in NEED_KEYS order (the app shows the non-zero ones)."""
    out: list[NeedCount] = []
    for key in NEED_KEYS:
        rows = [p for p in problems if matches(p, key)]
        state = str(rows[0].get("state", "")) if key == "breaker" and rows else ""
        out.append({"key": key, "count": len(rows), "word": WORDS[key], "state": state})
    return out
