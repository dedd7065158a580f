"""Shared helpers for the benchmarks: paths, timing statistics, the result table.

Benchmarks are not tests: they print figures and a ratio against a floor measured in the
same run, and never assert on time.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv").exists() else sys.executable
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def quick_flag() -> bool:
    return "--quick" in sys.argv[1:]


def subprocess_env(town_root: str | None = None) -> dict[str, str]:
    """The environment for `gt` subprocesses: the repo importable, a fixed town."""
    env = {k: v for k, v in os.environ.items() if k not in ("GASTOWN_TOWN", "GT_TOWN")}
    env["PYTHONPATH"] = str(REPO)
    for name in ("GT_AGENT_ID", "GT_AGENT", "GT_ROLE", "GT_AGENT_TOKEN", "GT_ATTEMPT"):
        env.pop(name, None)  # a run inside an agent session still acts as a person
    if town_root:
        env["GASTOWN_TOWN"] = town_root
    return env


def time_it(fn: Callable[[], object], reps: int, *, warmup: int = 1) -> list[float]:
    """Wall seconds of `reps` calls of fn, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def p95(xs: Sequence[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(0.95 * (len(s) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in r] for r in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    print(f"\n## {title}")
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line.rstrip())
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    sys.stdout.flush()
