"""The screen rules against screens captured from the real CLIs (tests/screens/record.py):
each fixture's file name says the state it must read as."""

from __future__ import annotations

import calendar
import time
from pathlib import Path

import pytest

from engine.polecats.screens import (
    ENTER,
    RULES,
    ScreenState,
    read_screen,
    reset_time,
    screen_lines,
)
from engine.polecats.screens.reading import Rule
from tests.agent_clis import pinned_version

FIXTURES = Path(__file__).parent / "screens" / "fixtures"
CASES = sorted(FIXTURES.glob("*/*.txt"))
# 2026-11-30 02:00 UTC: the captures' "resets at 3:27 AM" is later that day.
NOW = float(calendar.timegm((2026, 11, 30, 2, 0, 0)))
# Rules written from the CLIs' own texts but not (yet) seen in a capture.
NOT_RECORDED = {
    ("claude", "no-connection"),
}


def fixture_runtime(path: Path) -> tuple[str, str]:
    cli, _, version = path.parent.name.partition("-")
    return cli, version


def test_there_are_fixtures_for_every_cli() -> None:
    assert {fixture_runtime(p)[0] for p in CASES} == {"claude", "codex", "gemini"}


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_captured_screen_reads_as_its_state(path: Path) -> None:
    cli, version = fixture_runtime(path)
    assert RULES[cli].version == version, "the rules name the version they were checked against"
    expected = ScreenState(path.name.split("-")[0])
    reading = read_screen(cli, path.read_text(), now=NOW)
    assert reading.state == expected, f"{path.name}: {reading}"
    assert (reading.state == ScreenState.DIALOG) == bool(reading.keys)


@pytest.mark.parametrize("cli", sorted(RULES))
def test_fixtures_are_of_the_pinned_version(cli: str) -> None:
    assert RULES[cli].version == pinned_version(cli)  # type: ignore[arg-type]


def test_every_rule_is_checked_against_a_real_screen() -> None:
    """Each rule matches a capture of its own state (not necessarily as the first match)."""
    matched = set()
    for path in CASES:
        cli, _ = fixture_runtime(path)
        lines = screen_lines(path.read_text())
        for rule in RULES[cli].rules:
            if rule.state == path.name.split("-")[0] and rule.search(lines):
                matched.add((cli, rule.name))
    rules = {(cli, rule.name) for cli, r in RULES.items() for rule in r.rules}
    assert rules - matched == NOT_RECORDED


def screen(cli: str, name: str) -> str:
    (path,) = (FIXTURES / f"{cli}-{RULES[cli].version}").glob(f"{name}.txt")
    return path.read_text()


@pytest.mark.parametrize(
    ("cli", "name", "keys"),
    [
        ("claude", "dialog-trust-1", (ENTER,)),
        ("claude", "dialog-bypass-1", ("2",)),
        ("codex", "dialog-trust-1", (ENTER,)),
        ("codex", "dialog-model-1", ("2",)),
        ("gemini", "dialog-trust-1", (ENTER,)),
    ],
)
def test_dialogs_carry_the_keys_that_answer_them(cli: str, name: str, keys: tuple[str]) -> None:
    assert read_screen(cli, screen(cli, name)).keys == keys


def test_codex_streaming_text_without_its_working_marker_is_not_idle() -> None:
    working = screen("codex", "working-tool-1")
    streaming = (
        "\n".join(line for line in working.splitlines() if "esc to interrupt" not in line)
        + "\n• Here is what I found so far"
    )
    assert read_screen("codex", streaming).state == ScreenState.UNKNOWN
    # ...and once "Worked for" closes the turn, it is.
    assert read_screen("codex", screen("codex", "idle-done-1")).state == ScreenState.IDLE


def test_claude_footer_without_esc_but_a_spinner_is_still_working() -> None:
    working = screen("claude", "working-tool-1").replace("esc to interrupt · ", "")
    assert read_screen("claude", working).rule == "spinner"


def test_an_old_limit_scrolled_up_the_transcript_no_longer_counts() -> None:
    limited = screen("claude", "rate_limited-usagelimit-1")
    later = limited.replace("✻ Cooked for 0s", "✻ Cooked for 0s\n" + "● More work.\n" * 10)
    assert read_screen("claude", later).state == ScreenState.IDLE


def test_reset_times_shown_are_read() -> None:
    codex = read_screen("codex", screen("codex", "rate_limited-usagelimit-1"), now=NOW)
    assert codex.until is not None and codex.line.startswith("■ You’ve hit your usage limit")
    assert time.localtime(codex.until)[3:5] == (3, 27)
    gemini = read_screen("gemini", screen("gemini", "rate_limited-usagelimit-1"), now=NOW)
    assert gemini.until == NOW + 88 * 60  # "Access resets at 3:28 AM UTC."
    # No time shown: a limit without a reset (the scheduler backs off).
    claude = read_screen("claude", screen("claude", "rate_limited-usagelimit-1"), now=NOW)
    assert (claude.state, claude.until) == (ScreenState.RATE_LIMITED, None)


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("3:29 AM UTC", NOW + 89 * 60),
        ("3am UTC", NOW + 3600),
        ("1:59 AM UTC", NOW - 60),  # this minute: not tomorrow
        ("1:00 AM UTC", NOW + 23 * 3600),  # passed: tomorrow's
        ("12:30 PM UTC", NOW + 10.5 * 3600),
        ("soon", None),
    ],
)
def test_reset_time(shown: str, expected: float | None) -> None:
    assert reset_time(shown, NOW) == expected


def test_unknown_runtimes_and_screens_read_unknown() -> None:
    assert read_screen("script", "anything").state == ScreenState.UNKNOWN
    assert read_screen("claude", "").state == ScreenState.UNKNOWN


def test_screen_text_in_a_reading_is_made_safe() -> None:
    reading = read_screen("codex", "› x\n■ boom \x1b]0;pwned\x07\n› Ask Codex to do anything\n")
    assert reading.state == ScreenState.CRASHED and "\x1b" not in reading.line


def test_a_rule_with_keys_must_be_a_dialog() -> None:
    with pytest.raises(ValueError, match="only dialogs"):
        Rule(ScreenState.IDLE, "x", "x", keys=(ENTER,))
    with pytest.raises(ValueError, match="only dialogs"):
        Rule(ScreenState.DIALOG, "x", "x")
