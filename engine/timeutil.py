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
