"""Reading an agent CLI's screen: its rules (data, per runtime) and the pure reader.

A rule maps text on the screen to a state. Rules are tried in order, first match wins:
dialogs and questions first (they cover the whole screen), then the busy marker, then limits
and crashes (these sit in the transcript's tail, under a prompt that looks idle), then idle.
A screen no rule knows reads as "unknown": the witness decides whether it waits for a person
(it stays the same for a while) or is moving (Codex streaming model text, a CLI starting up).

Every runtime's rules name the CLI version they were checked against; the fixtures in
tests/screens/fixtures/<cli>-<version>/ are captures of that version (tests.screens.record).
"""

from __future__ import annotations

import calendar
import functools
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from engine.safetext import visible

# Lines the witness captures above the visible screen (engine.adapters.tmux.Tmux.capture).
SCREEN_LINES = 50
# The one key name a rule's keys may hold; anything else is typed as literal text.
ENTER = "Enter"


class ScreenState(StrEnum):
    WORKING = "working"
    IDLE = "idle"
    DIALOG = "dialog"  # a known start-up question, answered with the rule's keys
    NEEDS_YOU = "needs_you"  # waits for a person: a login, a question the town must not answer
    RATE_LIMITED = "rate_limited"
    CRASHED = "crashed"  # the CLI gave up (it exited, or its model keeps failing)
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Rule:
    """Screen text (a regular expression, multi-line) that means a state.

    `tail` limits the match to the last lines of the screen that are not blank (the footer,
    the newest output), so a message scrolled up in the transcript no longer counts.
    `keys` answer a dialog, in order. A group named `reset` in a rate-limit pattern is the
    reset time the CLI shows ("3:27 AM", "3pm")."""

    state: ScreenState
    name: str
    pattern: str
    keys: tuple[str, ...] = ()
    tail: int | None = None

    def __post_init__(self) -> None:
        if (self.state == ScreenState.DIALOG) != bool(self.keys):
            raise ValueError(f"rule {self.name}: dialogs, and only dialogs, have keys")
        _ = self.regex  # a bad pattern fails when the rules are loaded, not on a screen

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.MULTILINE)

    def search(self, lines: list[str]) -> re.Match[str] | None:
        return self.regex.search("\n".join(lines[-self.tail :] if self.tail else lines))


@dataclass(frozen=True)
class ScreenRules:
    runtime: str
    version: str  # the CLI version the rules were checked against
    rules: tuple[Rule, ...]


class ScreenReading(NamedTuple):
    state: ScreenState
    rule: str = ""  # the matching rule's name
    keys: tuple[str, ...] = ()
    until: float | None = None  # rate-limited: when the CLI says the limit resets
    line: str = ""  # the screen line that matched, safe to show


UNKNOWN = ScreenReading(ScreenState.UNKNOWN)


def screen_lines(text: str) -> list[str]:
    """The screen without trailing spaces or blank lines (tmux pads both)."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def read(rules: ScreenRules, text: str, now: float | None = None) -> ScreenReading:
    lines = screen_lines(text)
    for rule in rules.rules:
        match = rule.search(lines)
        if match is None:
            continue
        until = None
        if "reset" in rule.regex.groupindex and match.group("reset"):
            until = reset_time(match.group("reset"), time.time() if now is None else now)
        start = match.string.rfind("\n", 0, match.start()) + 1
        end = match.string.find("\n", match.start())
        # a line inside a box (Gemini CLI's) without the box's sides
        line = match.string[start : end if end >= 0 else None].strip().strip("│").strip()
        return ScreenReading(rule.state, rule.name, rule.keys, until, visible(line)[:200])
    return UNKNOWN


_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?", re.IGNORECASE)


def reset_time(shown: str, now: float) -> float | None:
    """The next moment after `now` the clock shows `shown` ("3:27 AM", "3pm", "3:29 AM UTC"),
    as an epoch time; None when the text is no clock time. Without "UTC" it is local time
    (the agent's TZ is the engine's: the fleet passes TZ through)."""
    match = _CLOCK.search(shown)
    if not match:
        return None
    hour = int(match.group(1)) % 12 + (12 if match.group(3).lower() == "p" else 0)
    minute = int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    if re.search(r"\bUTC\b", shown[match.end() :]):
        today = time.gmtime(now)
        at = float(calendar.timegm((today.tm_year, today.tm_mon, today.tm_mday, hour, minute, 0)))
    else:
        today = time.localtime(now)
        day = (today.tm_year, today.tm_mon, today.tm_mday, hour, minute, 0, 0, 0, -1)
        at = time.mktime(day)
    # the clock shows minutes: a time up to a minute past is this minute, not tomorrow's
    return at if at >= now - 60 else at + 86400
