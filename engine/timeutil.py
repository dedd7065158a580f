"""Timestamps: ISO-8601 UTC strings in the ledger (sortable, Beads-compatible)."""

import time
from datetime import UTC

# The clock views read ages against; tests (snapshots) freeze it.
clock = time.time


def iso(epoch: float | None = None) -> str:
    """`2026-11-21T09:00:00.123456Z` for an epoch (now when None)."""
    t = time.time() if epoch is None else epoch
    whole = int(t)
    micros = round((t - whole) * 1_000_000)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros:06d}Z"


def parse_iso(text: str) -> float:
    """Epoch seconds for an ISO-8601 timestamp as Beads and we write them."""
    from datetime import datetime

    s = text.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    # Python 3.11 accepts up to 6 fractional digits; Beads may write nanoseconds.
    if "." in s:
        head, _, rest = s.partition(".")
        digits = ""
        tail = ""
        for i, ch in enumerate(rest):
            if not ch.isdigit():
                tail = rest[i:]
                break
            digits += ch
        s = head + "." + (digits[:6] or "0") + tail
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def age(text: str | None, now: float | None = None) -> str:
    """A short human age like `3m`, `2h`, `5d` for a timestamp."""
    if not text:
        return "-"
    try:
        secs = (clock() if now is None else now) - parse_iso(text)
    except ValueError:
        return "?"
    if secs < 60:
        return f"{int(max(secs, 0))}s"
    if secs < 3600:
        return f"{int(secs // 60)}m"
    if secs < 86400:
        return f"{int(secs // 3600)}h"
    return f"{int(secs // 86400)}d"


def _span(secs: float) -> str:
    """`40 s`, `4 min`, `2 h`, `3 days`: a duration rounded the way a person says it."""
    secs = abs(secs)
    if secs < 60:
        return f"{int(secs)} s"
    if secs < 3600:
        return f"{round(secs / 60)} min"
    if secs < 86400:
        hours = secs / 3600
        return f"{hours:.1f} h".replace(".0 h", " h") if hours < 10 else f"{round(hours)} h"
    days = round(secs / 86400)
    return f"{days} day" + ("s" if days != 1 else "")


def relative(when: float | str | None, now: float | None = None) -> str:
    """A time for people: `in 4 min`, `3 min ago`, `just now` (an epoch or an ISO string).

    The one place the app, `gt` and notifications turn a timestamp into words, so a
    breaker's cooldown, a runtime's pause and a mail's date all read alike."""
    if when is None or when == "":
        return "-"
    try:
        at = parse_iso(when) if isinstance(when, str) else float(when)
    except ValueError:
        return str(when)
    delta = at - (clock() if now is None else now)
    if abs(delta) < 5:
        return "just now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(delta)} ago"
