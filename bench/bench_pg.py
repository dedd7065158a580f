"""The ledger on PostgreSQL: reconcile at scale, wake-ups across hosts, competing claims.

A private throwaway server (tests/pg_server.py, autovacuum off so template copies are never
refused; each template is ANALYZEd once, as autovacuum would within a minute).
1. Readiness and reconcile (bench_ready's measures) at 10,000 and 100,000 beads
   (`--quick`: 10,000) on PostgreSQL, the town moved there by `gt ledger migrate`
   (migrate_ledger) once, each repetition on a fresh `CREATE DATABASE … TEMPLATE` copy;
   floor: the bare indexed ready query through plain psycopg. The SQLite figures beside.
2. Close a blocker -> its dependent dispatched (bench_wake's trial: `gt bead close A` as a
   subprocess): SQLite one engine; PostgreSQL one engine; PostgreSQL two hosts, A placed on
   host `ha` (an engine process, `[host] rigs = ["bravo"]`), B on host `hb` (in-process,
   timed, rigs ["alpha"]), A closed from host ha's town. Floor: the reconcile that started B.
3. Claims per second: 300 slung beads held by one blocker; the engines (separate
   processes, RecordingDispatcher, capacity 400 each) are started, the blocker is closed,
   and every engine's dispatcher notes when it started each bead. 1 engine on SQLite, 1
   host and 3 hosts on PostgreSQL; every bead must be started exactly once. Floor: one
   psycopg connection claiming the same 300 beads one transaction each (SELECT … FOR
   UPDATE SKIP LOCKED LIMIT 1, UPDATE, COMMIT).
Usage: python bench/bench_pg.py [--quick]
(`bench_pg.py --engine TOWN HOST|-` is the engine process parts 2 and 3 start.)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import PYTHON, REPO, median, ms, print_table, quick_flag, subprocess_env, time_it
from gen import cached_town, copy_town
from timed import timed_classes

if TYPE_CHECKING:
    from engine.town import Town
    from tests.pg_server import PgServer

HERE = Path(__file__).resolve()
MAX_POLECATS, PER_RIG = 20, 10  # bench_ready's
CLAIMS, CLAIM_CAPACITY = 300, 400
RIGS = (("alpha", "al"), ("bravo", "br"), ("charlie", "ch"))


# ---- shared: templates, engine processes ----------------------------------------------------


def pg_template(server: PgServer, town: Town) -> str:
    """A database holding `town`'s ledger, moved by migrate_ledger and ANALYZEd: a template."""
    from engine.commands.ledger_move import MigrateRequest, migrate_ledger
    from engine.ledger import Ledger

    with tempfile.TemporaryDirectory(dir=town.root + "/..") as tmp:
        src = copy_town(town, tmp + "/town")
        Ledger(src.ledger_path).close()  # a cached town of an older schema: migrated
        name = server.create_database()
        migrate_ledger(src, MigrateRequest(server.url(name)))
    analyze(server.url(name))
    return name


def analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def pg_copy(server: PgServer, template: str) -> str:
    """A fresh database copied from `template` (no connection to it may be open)."""
    name = server.create_database() + "_c"
    server.admin().execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    return name


def edit_toml(town: Town, capacity: int | None = None, rigs: list[str] | None = None) -> None:
    text = Path(town.config_path).read_text()
    if capacity is not None:
        text = re.sub(r"(?m)^max_polecats = \d+", f"max_polecats = {capacity}", text)
        text = re.sub(
            r"(?m)^max_polecats_per_rig = \d+", f"max_polecats_per_rig = {capacity}", text
        )
    if rigs is not None:
        text += f"\n[host]\nrigs = {json.dumps(rigs)}\n"
    Path(town.config_path).write_text(text)


async def engine_process(root: str, host: str | None) -> int:
    """`--engine TOWN HOST`: an engine until SIGTERM, then {bead: start epoch} as JSON."""
    from engine.town import Town

    dispatcher_cls, engine_cls = timed_classes()
    disp = dispatcher_cls()
    engine = engine_cls(Town(root), dispatcher=disp, host=host, refinery=False)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await engine.start()
    try:
        print("ready", flush=True)
        await engine.run(stop)
    finally:
        await engine.stop()
    print(json.dumps({b: epoch for b, (_, epoch) in disp.at.items()}), flush=True)
    return 0


class Engines:
    """Engine processes (`--engine`), stopped and reaped however the block ends."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, town: Town, host: str | None) -> None:
        # its log in its town: hosts warn that the bench's rigs (no source) cannot be cloned
        log = open(os.path.join(town.logs_dir, "bench-engine.log"), "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [PYTHON, str(HERE), "--engine", town.root, host or "-"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=subprocess_env(),
            cwd=REPO,
        )
        self.procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        log.close()
        if line.strip() != "ready":
            tail = Path(log.name).read_text(errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"an engine process did not start: {line!r} {tail}")

    def stop(self) -> list[dict[str, float]]:
        out = []
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                text, _ = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                text, _ = p.communicate()
            out.append(json.loads(text.strip().splitlines()[-1]) if text.strip() else {})
        self.procs = []
        return out

    def __enter__(self) -> Engines:
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()


# ---- 1. reconcile at scale -------------------------------------------------------------------


def pg_on_copies(
    server: PgServer, template: str, config: Any, reps: int, action: str
) -> list[float]:
    """bench_ready.on_fresh_copy on PostgreSQL: a template copy per repetition, dropped after."""
    from bench_ready import time_action

    from engine.ledger import Ledger

    out = []
    for _ in range(reps + 1):  # the first is a warm-up
        name = pg_copy(server, template)
        try:
            with Ledger(server.url(name)) as ledger:
                out.append(time_action(ledger, config, action))
        finally:
            server.drop_database(name)
    return out[1:]


def part_reconcile(server: PgServer, n: int, reps: int) -> None:
    import psycopg
    from bench_ready import floor_sql, on_fresh_copy

    from engine.config import SchedulerSettings, TownConfig
    from engine.ledger import Ledger

    town, info = cached_town(n)
    config = TownConfig(
        scheduler=SchedulerSettings(max_polecats=MAX_POLECATS, max_polecats_per_rig=PER_RIG)
    )
    t0 = time.perf_counter()
    template = pg_template(server, town)
    moved = time.perf_counter() - t0
    sql, now = floor_sql(), time.time
    lite = sqlite3.connect(town.ledger_path)
    s_floor = time_it(lambda: lite.execute(sql, (now(),)).fetchall(), reps)
    lite.close()
    with psycopg.connect(server.url(template)) as pg:
        pg_sql = sql.replace("?", "%s")
        count = len(pg.execute(pg_sql, (now(),)).fetchall())
        p_floor = time_it(lambda: pg.execute(pg_sql, (now(),)).fetchall(), reps)
    with Ledger(town.ledger_path) as ledger:
        s_ready = time_it(ledger.beads.ready, reps)
    with Ledger(server.url(template)) as ledger:
        p_ready = time_it(ledger.beads.ready, reps)
    rows = [
        ("(a) floor: bare SQL ready query", s_floor, p_floor, "1x by definition"),
        ("(b) ledger.beads.ready()", s_ready, p_ready, ""),
    ]
    for label, action, note in (
        (f"(d) reconcile, {MAX_POLECATS} assigned+started", "reconcile", "aim: within 3x"),
        ("(d') idle reconcile (capacity full)", "idle", ""),
        (f"(e) schedule() alone, {MAX_POLECATS} assigned", "schedule", ""),
    ):
        lite_t = on_fresh_copy(town, config, reps, action)
        pg_t = pg_on_copies(server, template, config, reps, action)
        rows.append((label, lite_t, pg_t, note))
    sf, pf = median(s_floor), median(p_floor)
    print_table(
        f"{n:,} beads ({count:,} ready, {info['dispatch_candidates']:,} slung candidates, "
        f"{info['deps']:,} deps); {reps} reps; migrated to PostgreSQL in {moved:.1f} s",
        [
            "measure",
            "pg median ms",
            "pg min ms",
            "pg vs pg (a)",
            "sqlite ms",
            "sqlite vs (a)",
            "pg / sqlite",
            "note",
        ],
        [
            (
                name,
                ms(median(p)),
                ms(min(p)),
                f"{median(p) / pf:.2f}x",
                ms(median(s)),
                f"{median(s) / sf:.2f}x",
                f"{median(p) / median(s):.2f}x",
                note,
            )
            for name, s, p, note in rows
        ],
    )
    server.drop_database(template)


# ---- the run ---------------------------------------------------------------------------------


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["--engine"] and len(argv) == 3:
        return asyncio.run(engine_process(argv[1], None if argv[2] == "-" else argv[2]))
    from pg_multi import part_claims, part_wake

    from tests.pg_server import throwaway_server

    quick = quick_flag()
    # `--only reconcile|wake|claims`: one part (the others take minutes)
    only = argv[argv.index("--only") + 1] if "--only" in argv[:-1] else None
    began = time.perf_counter()
    with throwaway_server({"autovacuum": "off"}) as server:
        print(f"(PostgreSQL {server.version}, started in {server.started_seconds:.1f} s)")
        if only in (None, "reconcile"):
            for n in (10_000,) if quick else (10_000, 100_000):
                part_reconcile(server, n, reps=3 if quick else 7)
        if only in (None, "wake"):
            asyncio.run(part_wake(server, trials=10 if quick else 30))
        if only in (None, "claims"):
            part_claims(server, reps=1 if quick else 3)
    print(f"\n(bench_pg: {time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
