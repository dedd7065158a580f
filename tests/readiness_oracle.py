"""An independent oracle for Beads' readiness rule, written from shared/data/README.md.

It reads the raw files itself and shares no code with the engine, so a test can compare
the engine's ready list against it. Deliberately naive: plain sets and a breadth-first walk.

The rule: an issue is ready when its status is exactly "open", it is not ephemeral, its
own defer_until (if set) has passed, no ancestor reached through parent-child edges has a
future defer_until, and it is not blocked. It is blocked when one of its `blocks` deps
points at an issue that exists and whose status is not closed, pinned or tombstone, or
when an ancestor within 50 parent-child hops is blocked that way. Missing targets
(dangling deps) never block; other dep types never matter.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

UNBLOCKING_STATUSES = frozenset({"closed", "pinned", "tombstone"})
MAX_PARENT_HOPS = 50

Dep = tuple[str, str, str]  # (issue_id, depends_on_id, type); parent-child: child -> parent


def _rows(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_embedded(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], list[Dep]]:
    """Issues and deps of an embedded-layout file (deps inside each issue)."""
    issues = _rows(os.fspath(path))
    deps = [
        (d.get("issue_id", issue["id"]), d["depends_on_id"], d.get("type", "blocks"))
        for issue in issues
        for d in issue.get("dependencies") or ()
    ]
    return issues, deps


def load_backup(folder: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], list[Dep]]:
    """Issues and deps of a backup-layout directory (issues.jsonl + dependencies.jsonl)."""
    issues = _rows(os.path.join(folder, "issues.jsonl"))
    deps = [
        (r["issue_id"], r["depends_on_id"], r.get("type", "blocks"))
        for r in _rows(os.path.join(folder, "dependencies.jsonl"))
    ]
    return issues, deps


def _epoch(text: str) -> float:
    s = text.strip().replace(" ", "T", 1)
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    if "." in s:  # fromisoformat takes at most 6 fractional digits; Beads may write 9
        head, _, rest = s.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        s = f"{head}.{rest[: min(digits, 6)] or '0'}{rest[digits:]}"
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _deferred(issue: dict[str, Any], now: float) -> bool:
    """True when the issue's own defer_until lies in the future."""
    value = issue.get("defer_until")
    if value is None or value == "":
        return False
    return _epoch(value) > now


def _ephemeral(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true")
    return value is True or (type(value) is int and value == 1)


def blocked_ids(
    issues: list[dict[str, Any]], deps: list[Dep], now: float | None = None
) -> set[str]:
    """Ids of the issues that are blocked, whatever their status.

    ``now`` is accepted for symmetry with ready_ids; blocking does not depend on time.
    """
    status = {issue["id"]: issue.get("status") for issue in issues}
    children: dict[str, list[str]] = {}
    directly: set[str] = set()
    for src, dst, dep_type in deps:
        if dep_type == "blocks" and dst in status and status[dst] not in UNBLOCKING_STATUSES:
            directly.add(src)
        elif dep_type == "parent-child":
            children.setdefault(dst, []).append(src)
    # Walk down from each directly blocked issue, at most 50 parent-child hops.
    blocked = set(directly)
    frontier = directly
    for _ in range(MAX_PARENT_HOPS):
        frontier = {c for parent in frontier for c in children.get(parent, ())} - blocked
        if not frontier:
            break
        blocked |= frontier
    return blocked & status.keys()


def ready_ids(issues: list[dict[str, Any]], deps: list[Dep], now: float) -> set[str]:
    """Ids of the ready issues at epoch time ``now``."""
    by_id = {issue["id"]: issue for issue in issues}
    parents: dict[str, list[str]] = {}
    for src, dst, dep_type in deps:
        if dep_type == "parent-child":
            parents.setdefault(src, []).append(dst)
    blocked = blocked_ids(issues, deps)

    def ancestor_deferred(ident: str) -> bool:
        seen = {ident}
        todo = list(parents.get(ident, ()))
        while todo:
            anc = todo.pop()
            if anc in seen:
                continue  # cycles in bad data must not hang the oracle
            seen.add(anc)
            if anc in by_id and _deferred(by_id[anc], now):
                return True
            todo.extend(parents.get(anc, ()))
        return False

    return {
        ident
        for ident, issue in by_id.items()
        if issue.get("status") == "open"
        and not _ephemeral(issue.get("ephemeral"))
        and not _deferred(issue, now)
        and ident not in blocked
        and not ancestor_deferred(ident)
    }
