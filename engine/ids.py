"""The one bead id rule, used wherever an id comes in (create, import, plans, sling, deps)
and wherever one goes out into a branch name or a file name.

An id becomes part of a branch (`polecat/<name>/<id>`), a log file name and a git config
value, so it must be dispatchable by construction: `<prefix>-<part>[-<part>...]` with
Beads' hierarchical children (`gt-a1b2.3`), short, no path separators, no `..`, no control
characters. Dependencies may also point outside the town: `external:<project>:<id>`.

Import-light: `gt` loads this on every call that takes an id.
"""

from __future__ import annotations

import re

from engine.errors import UsageError

MAX_LEN = 64
# fullmatch, never match with `$`: `$` also matches before a trailing newline.
BEAD_ID_RE = re.compile(r"[a-z][a-z0-9]*(?:-[A-Za-z0-9]+)+(?:\.[0-9]+)*")
_PROJECT_RE = re.compile(r"[A-Za-z0-9_-]+")
EXTERNAL = "external:"


def is_bead_id(ident: object) -> bool:
    return (
        isinstance(ident, str) and len(ident) <= MAX_LEN and BEAD_ID_RE.fullmatch(ident) is not None
    )


def _shown(ident: object) -> str:
    from engine.safetext import clip, visible

    return repr(clip(visible(str(ident)), 80))


def check_bead_id(ident: object, what: str = "bead id") -> str:
    """The id itself, or UsageError naming it (made visible, cut short)."""
    if not is_bead_id(ident):
        raise UsageError(
            f"{_shown(ident)} is not a valid {what} (PREFIX-ID: lower-case prefix, letters and "
            f"digits joined by '-', optional .N children, at most {MAX_LEN} characters)"
        )
    return str(ident)


def check_dep_target(ident: object) -> str:
    """What a dependency may point at: a bead id, or `external:<project>:<bead id>`."""
    if isinstance(ident, str) and ident.startswith(EXTERNAL):
        project, sep, rest = ident[len(EXTERNAL) :].partition(":")
        if sep and _PROJECT_RE.fullmatch(project) and is_bead_id(rest):
            return ident
        raise UsageError(
            f"{_shown(ident)} is not a valid external reference "
            f"(external:PROJECT:ID, ID a valid bead id)"
        )
    return check_bead_id(ident, "bead id")
