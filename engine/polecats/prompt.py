"""What an agent is told: its identity, its hook, and what to do when finished."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.records import Bead


def render(
    bead: Bead,
    *,
    agent: str,
    rig: str,
    branch: str | None,
    attempt: int,
    blockers_done: list[dict[str, Any]] | None = None,
    last_error: str | None = None,
) -> str:
    lines = [
        f"You are {agent}, a polecat (worker agent) in rig {rig} of a Gas Town.",
        f"Your hook: {bead['id']} — {bead['title']} (attempt {attempt}).",
    ]
    if branch:
        lines.append(f"You are in your own git worktree on branch {branch}.")
    lines += ["", "## The work", "", bead.get("body") or "(no description)", ""]
    if blockers_done:
        lines.append("## Done before you (merged)")
        lines += [f"- {b['id']}: {b['title']}" for b in blockers_done]
        lines.append("")
    note = (bead.get("metadata") or {}).get("handoff_note")
    if note:
        lines += ["## Handoff note from your previous session", "", note, ""]
    if last_error:
        lines += ["## The previous attempt failed", "", last_error, ""]
    lines += [
        "## When you are finished",
        "",
        "1. Commit your work on this branch (git add, git commit).",
        '2. Run `gt done --summary "what you did"`. The refinery merges your branch.',
        'If you are stuck, run `gt escalate "what is wrong"`; to read mail, `gt mail inbox`.',
        "Run `gt prime` at any time to see this again.",
    ]
    return "\n".join(lines) + "\n"
