"""bench_pg.py parts 2 and 3: wake-ups across hosts, and claims with engines competing."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sqlite3
import subprocess
import tempfile
import time
from typing import TYPE_CHECKING, Any

from bench_pg import (
    CLAIM_CAPACITY,
    CLAIMS,
    RIGS,
    Engines,
    analyze,
    edit_toml,
    pg_copy,
    pg_template,
)
from common import OUT, PYTHON, REPO, median, ms, p95, print_table, subprocess_env
from gen import cached_town, copy_town
from timed import timed_classes

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from engine.ledger import Ledger
    from engine.town import Town
    from tests.pg_server import PgServer

WAKE_SIZE = 10_000  # bench_wake's town


async def wait_for(cond: Callable[[], bool], every: float = 0.0005, timeout: float = 15.0) -> None:
    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError("the engine did not react within 15 s")
        await asyncio.sleep(every)


async def gt_close(bead: str, town_root: str) -> float:
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "engine.cli.main",
        "bead",
        "close",
        bead,
        stdout=subprocess.DEVNULL,
        env=subprocess_env(town_root),
        cwd=str(REPO),
    )
    if await proc.wait():
        raise RuntimeError(f"gt bead close {bead} failed")
    return time.perf_counter() - t0


async def wake_trials(
    measured: Town,
    closer: Town,
    other: Ledger,
    trials: int,
    *,
    host: str | None = None,
    rigs: tuple[str, str] = ("alpha", "alpha"),
) -> list[dict[str, float]]:
    """bench_wake's `gt bead close` trial: A (in rigs[0]) blocks B (in rigs[1]); A started
    (here, or on another host: then seen in the ledger); `gt bead close A` from `closer`'s
    directory; until B is started by the in-process engine of `measured`."""
    from engine.timeutil import parse_iso

    dispatcher_cls, engine_cls = timed_classes()
    disp = dispatcher_cls()
    engine = engine_cls(measured, dispatcher=disp, host=host, refinery=False)
    rng = random.Random(7)
    await engine.start()
    stop = asyncio.Event()
    runner = asyncio.create_task(engine.run(stop))

    def started_here(bead: str) -> bool:
        return any(bead in s for _, _, s in engine.timings)

    def assigned_anywhere(bead: str) -> bool:
        found = other.beads.get(bead)
        return found is not None and found["assignee"] is not None

    a_started = assigned_anywhere if rigs[0] != rigs[1] else started_here
    out = []
    try:
        for i in range(trials + 1):  # the first is a warm-up
            a = other.beads.create("wake A", rig=rigs[0], slung=True)["id"]
            b = other.beads.create("wake B", rig=rigs[1], slung=True, deps=[(a, "blocks")])["id"]
            await wait_for(lambda a=a: a_started(a), every=0.01)  # type: ignore[misc]
            # settle, then close at a random phase of the engine's safety poll (no aliasing)
            await asyncio.sleep(0.03 + rng.random() * engine.poll_seconds)
            t0 = time.perf_counter()
            gt_wall = await gt_close(a, closer.root)
            await wait_for(lambda b=b: started_here(b))  # type: ignore[misc]
            rec = next((s, e) for s, e, ids in engine.timings if b in ids)
            closed_at = next(
                parse_iso(e["at"]) for e in other.beads.history(a) if e["kind"] == "closed"
            )
            other.beads.close(b)  # its agent goes idle and is reused by the next trial
            await asyncio.sleep(0.03)
            if i:
                out.append(
                    {
                        "e2e": disp.at[b][0] - t0,
                        "commit": disp.at[b][1] - closed_at,
                        "detect": rec[0] - t0,
                        "reconcile": rec[1] - rec[0],
                        "gt": gt_wall,
                    }
                )
    finally:
        stop.set()
        await runner
        await engine.stop()
    return out


async def part_wake(server: PgServer, trials: int) -> None:
    from engine.ledger import Ledger
    from engine.town import init_town

    # the in-process host's warning that the bench's rigs (no source) cannot be cloned
    logging.getLogger("gastown.engine").setLevel(logging.ERROR)
    base, _ = cached_town(WAKE_SIZE, slung_fraction=0.0)
    template = pg_template(server, base)
    results: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        town = copy_town(base, tmp + "/sqlite")
        with Ledger(town.ledger_path) as other:
            results["SQLite, one engine"] = await wake_trials(town, town, other, trials)

        url = server.url(pg_copy(server, template))
        town = init_town(tmp + "/pg1", ledger_url=url)
        with Ledger(url) as other:
            results["PostgreSQL, one engine"] = await wake_trials(town, town, other, trials)

        url = server.url(pg_copy(server, template))
        town_a = init_town(tmp + "/ha", ledger_url=url)
        town_b = init_town(tmp + "/hb", ledger_url=url)
        edit_toml(town_a, rigs=["bravo"])
        edit_toml(town_b, rigs=["alpha"])
        with Engines() as engines, Ledger(url) as other:
            engines.start(town_a, "ha")
            results["PostgreSQL, A on host ha, B on host hb"] = await wake_trials(
                town_b, town_a, other, trials, host="hb", rigs=("bravo", "alpha")
            )
            engines.stop()
    floor_one = median([r["reconcile"] for r in results["SQLite, one engine"]])

    def row(label: str, rs: list[dict[str, float]], key: str) -> tuple[str, ...]:
        xs = [r[key] for r in rs]
        return (label, ms(median(xs)), ms(p95(xs)), ms(min(xs)), f"{median(xs) / floor:.1f}x")

    for name, rs in results.items():
        floor = median([r["reconcile"] for r in rs])
        e2e = median([r["e2e"] for r in rs])
        print_table(
            f"wake-up, {name}: {len(rs)} trials, {WAKE_SIZE:,}-bead town, `gt bead close A` "
            f"subprocess; aim: < 100 ms net of gt; e2e vs SQLite's floor "
            f"{e2e / floor_one:.1f}x",
            ["measure", "median ms", "p95 ms", "min ms", "vs floor"],
            [
                row("close A -> B started (end to end)", rs, "e2e"),
                row("  of which gt bead close wall time", rs, "gt"),
                row("A's `closed` event (in its txn) -> B started", rs, "commit"),
                row("close A -> the reconcile that starts B begins", rs, "detect"),
                row("floor: the reconcile that started B", rs, "reconcile"),
            ],
        )
    server.drop_database(template)


# ---- 3. claims per second ----------------------------------------------------------------------


def fill_claims(ledger: Ledger, rigs_dir: str) -> str:
    """Three rigs, one blocker holding CLAIMS slung beads; returns the blocker's id."""
    for name, prefix in RIGS:
        path = os.path.join(rigs_dir, name)
        ledger.rigs.add(
            name, prefix=prefix, source="/dev/null", path=path, capabilities=[], gates=[]
        )
    gate = ledger.beads.create("claims gate", rig=RIGS[0][0])["id"]
    with ledger.transaction():
        for i in range(CLAIMS):
            rig = RIGS[i % len(RIGS)][0]
            ledger.beads.create(f"claim {i}", rig=rig, slung=True, deps=[(gate, "blocks")])
    return gate


def count_assigned(ledger: Ledger) -> int:
    return int(
        ledger.db.conn.execute("SELECT count(*) FROM beads WHERE assignee IS NOT NULL").fetchone()[
            0
        ]
    )


def claim_run(target: str, gate: str, towns: Sequence[tuple[Town, str | None]]) -> dict[str, Any]:
    """Engines up and idle, the blocker closed, until all CLAIMS beads are assigned."""
    from engine.ledger import Ledger

    with Engines() as engines:
        for town, host in towns:
            engines.start(town, host)
        time.sleep(1.0)  # their first reconciles are done: they wait on wake-ups
        with Ledger(target) as ledger:
            ledger.beads.close(gate)
            t0 = time.time()
            deadline = t0 + 120
            while count_assigned(ledger) < CLAIMS and time.time() < deadline:
                time.sleep(0.05)
        starts = engines.stop()
    times = [t for s in starts for t in s.values()]
    beads = {b for s in starts for b in s}
    return {
        "per_engine": [len(s) for s in starts],
        "twice": len(times) - len(beads),
        "started": len(beads),
        "span": max(times) - t0,
        "first": min(times) - t0,
        "half": sorted(times)[len(times) // 2] - t0,
    }


def floor_claims(target: str, pg: bool) -> float:
    """One connection, one transaction per claim: the cheapest honest claim loop."""
    pick = (
        "SELECT id FROM beads WHERE slung=1 AND status='open' AND blocked=0 AND assignee IS NULL"
        " ORDER BY priority, created_at, seq LIMIT 1"
    )
    t0 = time.perf_counter()
    if pg:
        import psycopg

        with psycopg.connect(target) as conn:
            for i in range(CLAIMS):
                with conn.transaction():
                    row = conn.execute(pick + " FOR UPDATE SKIP LOCKED").fetchone()
                    assert row is not None, "the floor ran out of beads"
                    conn.execute("UPDATE beads SET assignee=%s WHERE id=%s", (f"f{i}", row[0]))
    else:
        lite = sqlite3.connect(target, isolation_level=None)
        for i in range(CLAIMS):
            lite.execute("BEGIN IMMEDIATE")
            bead = lite.execute(pick).fetchone()[0]
            lite.execute("UPDATE beads SET assignee=? WHERE id=?", (f"f{i}", bead))
            lite.execute("COMMIT")
        lite.close()
    return CLAIMS / (time.perf_counter() - t0)


def part_claims(server: PgServer, reps: int) -> None:
    from engine.ledger import Ledger
    from engine.town import init_town

    rows = []
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        base = init_town(tmp + "/claims-sqlite")
        edit_toml(base, capacity=CLAIM_CAPACITY)
        with Ledger(base.ledger_path) as ledger:
            gate = fill_claims(ledger, base.rigs_dir)
        template = server.create_database()
        with Ledger(server.url(template), create=True) as ledger:
            pg_gate = fill_claims(ledger, tmp + "/rigs")
        analyze(server.url(template))

        def floor(pg: bool) -> float:
            if pg:
                url = server.url(pg_copy(server, template))
                with Ledger(url) as ledger:
                    ledger.beads.close(pg_gate)
                return floor_claims(url, True)
            town = copy_town(base, f"{tmp}/f{time.monotonic_ns()}")
            with Ledger(town.ledger_path) as ledger:
                ledger.beads.close(gate)
            return floor_claims(town.ledger_path, False)

        def run(engines: int, pg: bool) -> dict[str, Any]:
            if not pg:
                town = copy_town(base, f"{tmp}/s{time.monotonic_ns()}")
                return claim_run(town.ledger_path, gate, [(town, None)])
            url = server.url(pg_copy(server, template))
            towns = []
            for k in range(engines):
                town = init_town(f"{tmp}/h{k}-{time.monotonic_ns()}", ledger_url=url)
                edit_toml(town, capacity=CLAIM_CAPACITY)
                towns.append((town, f"h{k}"))
            return claim_run(url, pg_gate, towns)

        floors = {pg: median([floor(pg) for _ in range(reps)]) for pg in (False, True)}
        for label, engines, pg in (
            ("SQLite, 1 engine", 1, False),
            ("PostgreSQL, 1 host", 1, True),
            ("PostgreSQL, 3 hosts competing", 3, True),
        ):
            runs = [run(engines, pg) for _ in range(reps)]
            rate = median([CLAIMS / r["span"] for r in runs])
            rows.append(
                (
                    label,
                    f"{rate:,.0f}",
                    ms(median([r["first"] for r in runs])),
                    ms(median([r["half"] for r in runs])),
                    ms(median([r["span"] for r in runs])),
                    " / ".join(str(n) for n in runs[-1]["per_engine"]),
                    f"{sum(r['twice'] for r in runs)}",
                    f"{min(r['started'] for r in runs)}",
                    f"{floors[pg]:,.0f}",
                    f"{rate / floors[pg]:.2f}x",
                )
            )
    print_table(
        f"claims: {CLAIMS} slung beads freed at once (their blocker closed), engines as "
        f"separate processes (RecordingDispatcher, capacity {CLAIM_CAPACITY} each); {reps} "
        "run(s), medians; floor: one connection, one claim per transaction",
        [
            "engines",
            "claims/s",
            "first ms",
            "half ms",
            "all ms",
            "per engine (last run)",
            "twice",
            "started (min)",
            "floor claims/s",
            "vs floor",
        ],
        rows,
    )
