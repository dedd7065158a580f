"""The town's rules, written once: how long a failed bead waits before it is tried again,
when its attempts are used up, how long the witness waits between rungs, and how many
polecats the town and each rig may have at work; how long a rate-limited runtime pauses,
and what in an agent's last output says it was limited.

Pure functions of numbers (no ledger, no clock, no I/O) so the scheduler, the refinery and
the commands ask the same question and get the same answer. The caller makes each decision
inside the ledger transaction that writes it (reading the failure count there) and hands the
ledger the decided values; the ledger never imports this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.config import RigSettings, SchedulerSettings


@dataclass(frozen=True)
class Retry:
    """What follows the `failures`-th failure of a bead's work."""

    failures: int
    give_up: bool
    delay: float  # seconds before the bead may be tried again; 0 when giving up


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per bead and the doubling delay between them (town.toml [scheduler])."""

    max_attempts: int
    backoff_base: float
    backoff_max: float

    @classmethod
    def of(cls, settings: SchedulerSettings, *, bead_fault: bool = False) -> RetryPolicy:
        # A bead's own fault (an invalid id, a file it names is missing) fails at once:
        # trying again cannot help.
        return cls(
            max_attempts=1 if bead_fault else settings.max_attempts,
            backoff_base=settings.backoff_base_seconds,
            backoff_max=settings.backoff_max_seconds,
        )

    def backoff(self, failures: int) -> float:
        """The wait after the `failures`-th failure: base, 2×base, 4×base, … up to max."""
        return min(self.backoff_max, self.backoff_base * (2 ** max(failures - 1, 0)))

    def exhausted(self, failures: int) -> bool:
        return failures >= self.max_attempts

    def retry_in(self, failures: int) -> float | None:
        """Seconds before the next try after the `failures`-th failure; None: give up."""
        decision = self.after(failures)
        return None if decision.give_up else decision.delay

    def after(self, failures: int) -> Retry:
        if self.exhausted(failures):
            return Retry(failures, give_up=True, delay=0.0)
        return Retry(failures, give_up=False, delay=self.backoff(failures))


def rejection(max_attempts: int) -> RetryPolicy:
    """A person rejected the work: it goes back at once (no backoff; a person already
    looked), and the rejection still counts as an attempt."""
    return RetryPolicy(max_attempts=max_attempts, backoff_base=0.0, backoff_max=0.0)


def ladder_wait(ladder_seconds: float, rung: int) -> float:
    """The witness's wait before climbing past `rung`: each rung waits twice the last."""
    return ladder_seconds * (2 ** max(rung - 1, 0))


def rig_capacity(settings: SchedulerSettings, rig: RigSettings | None) -> int:
    """Polecats one rig may have working: its own max when town.toml sets one
    ([rigs.<name>] max_polecats), else the town's per-rig max; never more than the town's."""
    if rig is not None and rig.max_polecats:
        return min(rig.max_polecats, settings.max_polecats)
    return min(settings.max_polecats_per_rig, settings.max_polecats)


def town_has_room(total_busy: int, settings: SchedulerSettings) -> bool:
    """Whether the town may set one more polecat to work, `total_busy` being at work."""
    return total_busy < settings.max_polecats


def rig_has_room(rig_busy: int, capacity: int) -> bool:
    """Whether a rig with `rig_busy` polecats at work and room for `capacity` takes one more."""
    return rig_busy < capacity


def host_expired(heartbeat_at: float, lease_seconds: float, now: float) -> bool:
    """Whether a host that last renewed its lease at `heartbeat_at` is to be declared lost."""
    return now - heartbeat_at > lease_seconds


def host_serves(served: list[str], rig: str) -> bool:
    """Whether a host serving `served` (empty: every rig) takes work of `rig`."""
    return not served or rig in served


def best_host(free: dict[str, int]) -> str | None:
    """Where a ready bead goes among the hosts that may take it (name -> free capacity):
    the most free capacity, ties to the first name; None when none has room."""
    open_hosts = [(-room, name) for name, room in free.items() if room > 0]
    return min(open_hosts)[1] if open_hosts else None


def heartbeat_every(lease_seconds: float) -> float:
    """How often a host renews its lease: five times within it, so one slow write or a
    busy ledger never costs it the lease."""
    return lease_seconds / 5


def handoff_wait(lease_seconds: float) -> float:
    """How long a bead waits for the host placement prefers (whose lease is
    `lease_seconds`) before another host takes it: one of that host's heartbeat periods
    (a host that is live but not reconciling, e.g. paused by its breaker or stuck in a
    long git call, must not hold work back)."""
    return heartbeat_every(lease_seconds)


def budget_spent(
    tokens: int, dollars: float, budget_tokens: int | None, budget_dollars: float | None
) -> str | None:
    """What of a budget is used up ("1,200/1,000 tokens"), or None while it lasts. Spent
    means reached, not passed: work already running may pass it, none starts after."""
    if budget_tokens is not None and tokens >= budget_tokens:
        return f"{tokens:,}/{budget_tokens:,} tokens"
    if budget_dollars is not None and dollars >= budget_dollars:
        return f"${dollars:,.2f}/${budget_dollars:,.2f}"
    return None


def pause_backoff(strikes: int, base: float, most: float) -> float:
    """How long a runtime's dispatch pauses after its `strikes`-th limit in a row when the
    CLI did not say when its window resets: base, 2×base, 4×base, … up to `most`."""
    return min(most, base * (2 ** max(strikes - 1, 0)))


@dataclass(frozen=True)
class LimitSeen:
    """A rate or usage limit an agent's CLI printed: the line, and when it said it resets."""

    line: str
    until: float | None  # epoch seconds; None when the CLI did not say


# What each CLI prints when its account is limited (checked against claude 2.1.197, codex
# 0.171.0, gemini 0.61.0 and the messages their vendors document). Anchored on the CLIs'
# own words, not on "rate limit" alone: an agent's code and tests mention limits too.
_LIMIT = re.compile(
    r"Request rejected \(429\)"  # claude: API Error: Request rejected (429) · …
    r"|hit your (?:usage )?limit"  # codex: You’ve hit your usage limit. Try again at …
    r"|usage limit reached|\blimit reached\b.{0,20}\breset"  # claude's plan windows
    r"|RESOURCE_EXHAUSTED|Resource has been exhausted|exceeded your current quota"  # gemini
    r"|\b429\b.{0,40}Too Many Requests",
    re.IGNORECASE,
)
_EPOCH = re.compile(r"limit reached\|(\d{10})")  # older claude: "…usage limit reached|<epoch>"
_RELATIVE = re.compile(
    r"(?:try again|retry|resets?) in (\d+(?:\.\d+)?)\s*(s|sec|seconds?|m|min|minutes?|h|hours?)\b",
    re.IGNORECASE,
)
_UNIT = {"s": 1, "m": 60, "h": 3600}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# codex: "Try again at 3:42 PM." or "Try again at Dec 1st, 2026 3:42 PM." (local time);
# claude: "resets 3pm (Europe/Berlin)", "will reset at 15:00".
_CLOCK = re.compile(
    r"(?:try again at|resets? at|resets)\s+"
    r"(?:(?P<mon>[A-Za-z]{3})[a-z]*\.? (?P<day>\d{1,2})(?:st|nd|rd|th)?,? (?P<year>\d{4})?,?\s*)?"
    r"(?P<hour>\d{1,2})(?::(?P<min>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?"
    r"(?:\s*\((?P<tz>[A-Za-z_]+(?:/[A-Za-z_+-]+)*)\))?",
    re.IGNORECASE,
)


def limit_seen(text: str, now: float, tz: tzinfo | None = None) -> LimitSeen | None:
    """The newest rate/usage-limit line in an agent's last output, with its reset time when
    the line shows one (a clock time is the next such time after `now`, in the zone the
    line names, else `tz`, else this machine's), or None when no limit shows."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for i in range(len(lines) - 1, -1, -1):
        if _LIMIT.search(lines[i]):
            # the reset time may be on the line after (a wrapped message)
            return LimitSeen(lines[i], reset_time(" ".join(lines[i : i + 2]), now, tz))
    return None


def reset_time(line: str, now: float, tz: tzinfo | None = None) -> float | None:
    """When a limit message says the window resets, as epoch seconds; None if it does not."""
    if m := _EPOCH.search(line):
        return float(m.group(1))
    if m := _RELATIVE.search(line):
        return now + float(m.group(1)) * _UNIT[m.group(2)[0].lower()]
    m = _CLOCK.search(line)
    if not m:
        return None
    hour, minute = int(m["hour"]), int(m["min"] or 0)
    if m["ampm"]:
        if hour > 12:
            return None
        hour = hour % 12 + (12 if m["ampm"][0].lower() == "p" else 0)
    elif not m["min"]:
        return None  # a bare number ("resets 3") is not a time
    if hour > 23 or minute > 59:
        return None
    zone = tz
    if m["tz"]:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # rare: kept off gt's start-up

        try:
            zone = ZoneInfo(m["tz"])
        except (ValueError, ZoneInfoNotFoundError):
            zone = tz
    today = datetime.fromtimestamp(now, zone) if zone else datetime.fromtimestamp(now).astimezone()
    when = today.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if m["mon"]:
        month = m["mon"][:3].lower()
        if month not in _MONTHS:
            return None
        year = int(m["year"]) if m["year"] else today.year
        try:
            when = when.replace(year=year, month=_MONTHS.index(month) + 1, day=int(m["day"]))
        except ValueError:
            return None
        return when.timestamp()
    if when.timestamp() + 60 <= now:
        when += timedelta(days=1)  # a clock time already past today means tomorrow's
    elif when.timestamp() <= now:
        when += timedelta(minutes=1)  # shown to the minute: this minute ends the window
    return when.timestamp()
