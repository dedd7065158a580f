"""Readiness and scheduling at 10,000 and 100,000 beads, against the bare indexed SQL query.

(a) floor: the ready query through a plain sqlite3 connection (tuples, fetchall);
(b) ledger.beads.ready() in-process (rows become dicts);
(c) `gt ready --json` as a subprocess (stdout to /dev/null), next to `python -c pass`;
(d) one full Scheduler.reconcile(RecordingDispatcher()) with capacity free, on a fresh copy
    of the ledger each repetition (so every reconcile assigns and dispatches for real);
    (d') the idle reconcile that follows (capacity full: nothing to assign);
(e) Scheduler.schedule() alone (the ready+dispatch decision), also on a fresh copy.
Usage: python bench/bench_ready.py [--quick] [--profile]
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING

from common import PYTHON, REPO, median, ms, print_table, quick_flag, subprocess_env, time_it
from gen import cached_town, copy_town

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.town import Town

MAX_POLECATS, PER_RIG = 20, 10


def floor_sql() -> str:
    from engine import vocab

    records = ",".join(f"'{t}'" for t in vocab.RECORD_TYPES)
    return (
        "SELECT * FROM beads WHERE status='open' AND blocked=0 AND ephemeral=0 "
        "AND (defer_chain IS NULL OR defer_chain <= ?) "
        f"AND type NOT IN ({records}) ORDER BY priority, created_at, seq"
    )


def run_cmd(cmd: list[str], env: dict[str, str]) -> None:
    subprocess.run(cmd, stdout=subprocess.DEVNULL, env=env, cwd=REPO, check=True)


def on_fresh_copy(town: Town, config: TownConfig, reps: int, action: str) -> list[float]:
    """Time `action` ('reconcile', 'schedule' or 'idle') on a private copy per repetition."""
    from engine.ledger import Ledger

    out = []
    for _ in range(reps + 1):  # the first is a warm-up
        with tempfile.TemporaryDirectory(dir=town.root + "/..") as tmp:
            copy = copy_town(town, tmp + "/town")
            with Ledger(copy.ledger_path) as ledger:
                out.append(time_action(ledger, config, action))
    return out[1:]


def time_action(ledger: Ledger, config: TownConfig, action: str) -> float:
    """One timed `action` on a fresh ledger: 'reconcile' (assign and start), 'schedule'
    (decide only) or 'idle' (a reconcile with nothing left to do)."""
    from engine.scheduler.reconciler import Scheduler
    from tests.recording import RecordingDispatcher

    sched = Scheduler(ledger, config)
    dispatcher = RecordingDispatcher()
    if action == "idle":
        sched.reconcile(dispatcher)
    t0 = time.perf_counter()
    if action == "schedule":
        done = len(sched.schedule().assignments)
    else:
        done = len(sched.reconcile(dispatcher).started)
    took = time.perf_counter() - t0
    if action != "idle" and done != config.scheduler.max_polecats:
        print(f"  note: {action} assigned {done} beads", file=sys.stderr)
    return took


def profile_reconcile(town: Town, config: TownConfig) -> None:
    import cProfile
    import pstats

    from engine.ledger import Ledger
    from engine.scheduler.reconciler import Scheduler
    from tests.recording import RecordingDispatcher

    with tempfile.TemporaryDirectory(dir=town.root + "/..") as tmp:
        copy = copy_town(town, tmp + "/town")
        with Ledger(copy.ledger_path) as ledger:
            sched = Scheduler(ledger, config)
            prof = cProfile.Profile()
            prof.runcall(sched.reconcile, RecordingDispatcher())
    print("\n## cProfile of one reconcile (top 15 by cumulative time)")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(15)


def bench_size(n: int, reps: int, cli_reps: int) -> None:
    from engine.config import SchedulerSettings, TownConfig
    from engine.ledger import Ledger

    town, info = cached_town(n)
    config = TownConfig(
        scheduler=SchedulerSettings(max_polecats=MAX_POLECATS, max_polecats_per_rig=PER_RIG)
    )
    conn = sqlite3.connect(town.ledger_path)
    sql = floor_sql()
    count = len(conn.execute(sql, (time.time(),)).fetchall())
    floor = time_it(lambda: conn.execute(sql, (time.time(),)).fetchall(), reps)
    conn.close()
    with Ledger(town.ledger_path) as ledger:
        ready = time_it(ledger.beads.ready, reps)
    env = subprocess_env(town.root)
    gt_times = time_it(
        lambda: run_cmd([PYTHON, "-m", "engine.cli.main", "ready", "--json"], env), cli_reps
    )
    py_times = time_it(lambda: run_cmd([PYTHON, "-c", "pass"], env), cli_reps)
    rec = on_fresh_copy(town, config, reps, "reconcile")
    idle = on_fresh_copy(town, config, reps, "idle")
    sch = on_fresh_copy(town, config, reps, "schedule")
    f = median(floor)
    rows = [
        ("(a) floor: bare SQL ready query", floor, "1x by definition"),
        ("(b) ledger.beads.ready()", ready, ""),
        (
            "(c) gt ready --json (subprocess)",
            gt_times,
            f"net of python -c pass: {ms(median(gt_times) - median(py_times))} ms",
        ),
        ("    python -c pass (subprocess)", py_times, "interpreter start-up"),
        (f"(d) reconcile, {MAX_POLECATS} assigned+started", rec, "aim: within 3x of floor"),
        ("(d') idle reconcile (capacity full)", idle, ""),
        (f"(e) schedule() alone, {MAX_POLECATS} assigned", sch, "aim: well under 100 ms"),
    ]
    print_table(
        f"{n:,} beads ({count:,} ready, {info['dispatch_candidates']:,} slung "
        f"candidates, {info['deps']:,} deps); {len(floor)} reps, "
        f"cli {len(gt_times)} reps",
        ["measure", "median ms", "min ms", "vs floor (a)", "note"],
        [
            (name, ms(median(t)), ms(min(t)), f"{median(t) / f:.2f}x", note)
            for name, t, note in rows
        ],
    )


def main() -> int:
    quick = quick_flag()
    sizes = [10_000] if quick else [10_000, 100_000]
    for n in sizes:
        bench_size(n, reps=5 if quick else 9, cli_reps=5 if quick else 9)
    if "--profile" in sys.argv[1:]:
        from engine.config import SchedulerSettings, TownConfig

        town, _ = cached_town(sizes[-1])
        profile_reconcile(
            town,
            TownConfig(
                scheduler=SchedulerSettings(max_polecats=MAX_POLECATS, max_polecats_per_rig=PER_RIG)
            ),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
