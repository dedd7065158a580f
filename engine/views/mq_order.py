"""The merge queue for people: what needs a person first, and a gate failure in a few words.

The refinery writes a failed gate as `gate NAME (CMD) exited N: line | line | …` with the
last lines of its log. Cut to a table cell that read "exited 1: File" — the start of a
traceback. `failure_gist` keeps the lines that say what went wrong (the error, the failed
test, the summary) and drops the rest. Shared by the app's Merge queue tab and `gt mq list`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

# Requests a person acts on, then those moving, then waiting, then the decided ones.
STATE_ORDER = {
    "failed": 0,
    "conflict": 0,
    "awaiting_approval": 1,
    "testing": 2,
    "landing": 2,
    "queued": 3,
    "rejected": 4,
    "landed": 5,
    "dropped": 5,
}
# A gate log line that tells what failed (pytest, unittest, cargo, go, npm, make, tsc …)
USEFUL = re.compile(
    r"(error|Error|ERROR|FAIL|failed|Failed|assert|panicked|✗|"
    r"\bE\s{2,}|expected|not found|No such file|exit code)"
)
NOISE = ("File ", "Traceback", "=", "_", "-")
GATE_HEAD = re.compile(r"^gate (?P<name>\S+) \(.*?\) exited (?P<code>-?\d+)$")

M = TypeVar("M", bound=Any)


def needs_person_first(mrs: Sequence[M]) -> list[M]:
    """Failures first, then by state (STATE_ORDER); newest first within a state."""
    newest_first = sorted(mrs, key=lambda m: m.get("updated_at") or m["id"], reverse=True)
    return sorted(newest_first, key=lambda m: STATE_ORDER.get(m["state"], 9))


def failure_gist(failure: str | None, width: int = 100) -> str:
    """`test exited 1: AssertionError: 2 != 3 | 1 failed in 0.02s` from a gate failure;
    any other note (a conflict, a rejection reason) as it is. At most `width` characters."""
    if not failure:
        return ""
    head, sep, rest = failure.partition(": ")
    found = GATE_HEAD.match(head)
    if not found or not sep:
        return _cut(failure, width)
    lead = f"{found['name']} exited {found['code']}: "
    lines = [ln.strip() for ln in rest.split(" | ") if ln.strip()]
    # a traceback's frames and a runner's banners ("=== FAILURES ===") say nothing yet
    useful = [ln for ln in lines if USEFUL.search(ln) and not ln.startswith(NOISE)]
    picked = useful or lines[-2:]
    # the last useful lines fit first: a log's end is its verdict (the summary, the error)
    out: list[str] = []
    room = width - len(lead)
    for line in reversed(picked):
        cost = len(line) + (3 if out else 0)
        if cost > room:
            if not out:
                out.append(_cut(line, room))
            break
        out.insert(0, line)
        room -= cost
    return lead + " | ".join(out)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"
