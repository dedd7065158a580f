"""What the fleet reads from a polecat's pane and types into it: the witness's screen
captures, a known dialog's answer, a nudge.

Nothing is typed while the screen rules (engine.polecats.screens) read the CLI as working,
in a dialog or waiting for a person: a nudge there would be lost in a busy CLI's input or,
worse, answer a question nobody meant to answer. It stays queued (NotYet) and goes once
the CLI sits at its prompt, or expires.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from engine.errors import GtError
from engine.polecats.dispatcher import NotYet
from engine.polecats.screens import ENTER, SCREEN_LINES, ScreenState, read_screen

if TYPE_CHECKING:
    from engine.adapters.tmux import Tmux
    from engine.runtime_specs import RuntimeSpec

log = logging.getLogger("gastown.fleet")

# Screens a nudge must not be typed into.
NOT_NOW = {
    ScreenState.WORKING: "busy",
    ScreenState.DIALOG: "showing a dialog",
    ScreenState.NEEDS_YOU: "waiting for a person",
}


def capture_all(tmux: Tmux, sessions: dict[str, str]) -> dict[str, str]:
    """One capture per session ({agent id: session}), by agent id; a session gone since the
    fleet's look is left out (the zombie check has it)."""
    out = {}
    for agent_id, session in sessions.items():
        try:
            out[agent_id] = tmux.capture(session, SCREEN_LINES)
        except GtError:
            continue
    return out


def type_keys(tmux: Tmux, session: str, keys: tuple[str, ...]) -> None:
    """A known dialog's answer: each key typed literally, ENTER as the Enter key."""
    for key in keys:
        tmux.send_literal(session, "" if key == ENTER else key, enter=key == ENTER)


def nudge(
    tmux: Tmux,
    session: str,
    message: str,
    *,
    runtime_name: str,
    runtime: RuntimeSpec | None,
    ready_at: float,
) -> None:
    """Type `message` into the session and submit it; NotYet while the CLI is starting or
    its screen says it must not be typed into now."""
    if time.monotonic() < ready_at:
        raise NotYet(f"{session} is still starting")
    # One capture, read by the runtime's screen rules (none for `script` and custom ones:
    # their screen reads "unknown" and the nudge goes, as it always did).
    state = read_screen(runtime_name, tmux.capture(session, SCREEN_LINES)).state
    if state in NOT_NOW:
        raise NotYet(f"{session} is {NOT_NOW[state]}")
    delay = runtime.submit_delay if runtime else 0.0
    if not delay:
        tmux.send_literal(session, message)
        return
    # An Enter right behind the text is taken as part of a paste (Gemini CLI): the text
    # stays in the input box, unsent. A pause lets the CLI see a keypress.
    tmux.send_literal(session, message, enter=False)
    time.sleep(delay)
    tmux.send_literal(session, "", enter=True)
