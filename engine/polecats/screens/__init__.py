"""What an agent CLI's screen says: working, idle, a dialog to answer, a question for a
person, a rate limit, a crash. Rules are data, one module per CLI, each naming the version it
was checked against; `read_screen` is pure (text in, reading out)."""

from __future__ import annotations

from engine.polecats.screens import claude_screens, codex_screens, gemini_screens
from engine.polecats.screens.reading import (
    ENTER,
    SCREEN_LINES,
    UNKNOWN,
    Rule,
    ScreenReading,
    ScreenRules,
    ScreenState,
    read,
    reset_time,
    screen_lines,
)

RULES: dict[str, ScreenRules] = {
    rules.runtime: rules
    for rules in (claude_screens.RULES, codex_screens.RULES, gemini_screens.RULES)
}

__all__ = [
    "ENTER",
    "RULES",
    "SCREEN_LINES",
    "UNKNOWN",
    "Rule",
    "ScreenReading",
    "ScreenRules",
    "ScreenState",
    "read_screen",
    "reset_time",
    "screen_lines",
]


def read_screen(runtime_name: str, text: str, now: float | None = None) -> ScreenReading:
    """The state `text` (a pane capture) shows for a runtime; "unknown" for a runtime with
    no rules (custom ones, `script`) and for a screen no rule knows."""
    rules = RULES.get(runtime_name)
    return UNKNOWN if rules is None else read(rules, text, now)
