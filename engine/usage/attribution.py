"""Which bead and attempt a CLI session worked: the agent's assignment it started in.

Each assignment of an agent (its ``hooked`` event: bead, attempt, when) opens a window that
lasts until the agent's next one. A session belongs to the window its start falls in, by
the CLI's own clock (`SessionUsage.started`), so when the engine first reads a transcript
does not matter: a short session that started and ran `gt done` between two collections,
or one first read after the agent took its next bead, still lands on the bead it worked.

The window runs to the next assignment, not to `gt done` or the unhook: a session the
engine starts for an attempt just as that attempt ends (a restart racing the release) still
worked that attempt, and between two assignments no session is started for anything else.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

from engine.timeutil import parse_iso


class Attempt(NamedTuple):
    """One assignment of an agent: from `at` (epoch seconds) until its next one."""

    at: float
    bead_id: str
    attempt: int


class Attribution(NamedTuple):
    bead_id: str | None
    attempt: int
    # True: read from the session's start, so it replaces whatever was stored before;
    # False: a guess (the hook at the time of reading) that only fills a session with none.
    exact: bool


def attempts(hooked: list[tuple[str, str, int]]) -> list[Attempt]:
    """The ledger's (at, bead, attempt) of each assignment, in order, as windows; an
    unreadable time is left out (its session then falls in the window before)."""
    out = []
    for at, bead_id, attempt in hooked:
        try:
            out.append(Attempt(parse_iso(at), bead_id, attempt))
        except ValueError:
            continue
    out.sort(key=lambda a: a.at)
    return out


def attribute(
    started: float | None, windows: list[Attempt], hook: str | None, attempt: int
) -> Attribution:
    """The bead and attempt of a session that started at `started`. With no start known
    (a transcript without times) the agent's current `hook` is the best guess; a session
    that started before the agent's first assignment worked no bead."""
    if started is None:
        return Attribution(hook, attempt if hook else 0, exact=False)
    i = bisect.bisect_right([w.at for w in windows], started)
    if i == 0:
        return Attribution(None, 0, exact=False)
    window = windows[i - 1]
    return Attribution(window.bead_id, window.attempt, exact=True)
