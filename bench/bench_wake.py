"""Wake-up latency: a blocker is closed by someone else; how soon is its dependent dispatched?

An Engine runs in-process (RecordingDispatcher) on a copy of a generated town whose backlog
is not slung. Each trial: slung A blocks slung B in a rig; the engine starts A; then A is
closed from ANOTHER connection (a second Ledger on the same file, in a worker thread) or
from another process (`gt bead close A`), and we measure until B is in the dispatcher's
started list. The floor is the reconcile that started B, timed inside the engine.

Then the idle phase: the cost of an engine at rest. For IDLE_SECONDS nothing writes; we
measure the CPU (user + system) of this process (the in-process engine, which the bench
leaves alone while it sleeps), of a headless engine in a subprocess (tests/engine_runner.py
on another copy of the town), and of `sleep` (the floor: a process that does nothing).
Usage: python bench/bench_wake.py [--quick]
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

from common import PYTHON, REPO, median, ms, p95, print_table, quick_flag, subprocess_env
from gen import cached_town, copy_town
from timed import timed_classes

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.ledger import Ledger

SIZE = 10_000
RIG = "alpha"
IDLE_SECONDS = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15)


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError("the engine did not react within 10 s")
        await asyncio.sleep(0.0005)


async def run(quick: bool) -> int:
    from engine.ledger import Ledger
    from engine.timeutil import parse_iso

    TimedDispatcher, TimedEngine = timed_classes()

    trials = 30 if quick else 60
    rng = random.Random(7)
    base, _ = cached_town(SIZE, slung_fraction=0.0)
    with tempfile.TemporaryDirectory(dir=base.root + "/..") as tmp:
        town = copy_town(base, tmp + "/town")
        disp = TimedDispatcher()
        engine = TimedEngine(town, dispatcher=disp)
        await engine.start()
        stop = asyncio.Event()
        runner = asyncio.create_task(engine.run(stop))
        other = Ledger(town.ledger_path)
        env = subprocess_env(town.root)

        async def close_in_thread(bead: str) -> float:
            await asyncio.to_thread(other.beads.close, bead)
            return 0.0

        async def close_by_gt(bead: str) -> float:
            t0 = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                PYTHON,
                "-m",
                "engine.cli.main",
                "bead",
                "close",
                bead,
                stdout=subprocess.DEVNULL,
                env=env,
                cwd=str(REPO),
            )
            if await proc.wait():
                raise RuntimeError(f"gt bead close {bead} failed")
            return time.perf_counter() - t0

        async def trial(closer: Callable[[str], Any], led: Ledger) -> dict[str, float]:
            a = led.beads.create("wake A", rig=RIG, slung=True)["id"]
            b = led.beads.create("wake B", rig=RIG, slung=True, deps=[(a, "blocks")])["id"]
            await wait_for(lambda: any(a in s for _, _, s in engine.timings))
            # settle, then close at a random phase of the engine's poll (no aliasing)
            await asyncio.sleep(0.03 + rng.random() * engine.poll_seconds)
            t0 = time.perf_counter()
            gt_wall = await closer(a)
            await wait_for(lambda: any(b in s for _, _, s in engine.timings))
            t_b, epoch_b = disp.at[b]
            closed_at = next(
                parse_iso(e["at"]) for e in led.beads.history(a) if e["kind"] == "closed"
            )
            rec = next((s, e) for s, e, ids in engine.timings if b in ids)
            led.beads.close(b)  # its agent goes idle and is reused by the next trial
            await asyncio.sleep(0.03)
            return {
                "e2e": t_b - t0,
                "commit": epoch_b - closed_at,
                "detect": rec[0] - t0,
                "reconcile": rec[1] - rec[0],
                "gt": gt_wall,
            }

        results: dict[str, list[dict[str, float]]] = {}
        for name, closer in (
            ("second Ledger connection", close_in_thread),
            ("`gt bead close` subprocess", close_by_gt),
        ):
            await trial(closer, other)  # warm-up
            results[name] = [await trial(closer, other) for _ in range(trials)]
        idle = [e - s for s, e, ids in engine.timings if not ids]
        rest = await idle_cpu(base, tmp)
        stop.set()
        await runner
        other.close()
        await engine.stop()

    for name, rs in results.items():
        floor = median([r["reconcile"] for r in rs])

        def row(
            label: str, key: str, rs: list[dict[str, float]] = rs, floor: float = floor
        ) -> tuple[str, str, str, str, str]:
            xs = [r[key] for r in rs]
            return (label, ms(median(xs)), ms(p95(xs)), ms(min(xs)), f"{median(xs) / floor:.1f}x")

        rows = [
            row("close A -> B started (end to end)", "e2e"),
            row("A's `closed` event (in its txn) -> B started", "commit"),
            row("close A -> reconcile begins", "detect"),
            row("floor: the reconcile that started B", "reconcile"),
        ]
        if name.startswith("`gt"):
            rows.insert(1, row("  of which gt bead close wall time", "gt"))
        print_table(
            f"wake-up via {name}: {len(rs)} trials, {SIZE:,}-bead town, "
            f"engine poll {engine.poll_seconds * 1000:.0f} ms; aim: < 100 ms end to end",
            ["measure", "median ms", "p95 ms", "min ms", "vs floor"],
            rows,
        )
    print_table(
        f"an engine at rest: CPU over {IDLE_SECONDS:.0f} s with nothing to do "
        f"({SIZE:,}-bead town); aim: <= 1 % of a core",
        ["process", "CPU ms", "% of a core"],
        [(name, f"{cpu * 1000:.0f}", f"{100 * cpu / wall:.2f}") for name, cpu, wall in rest],
    )
    print(
        f"\n(idle reconciles during the run: {len(idle)}, median {ms(median(idle))} ms)"
        if idle
        else ""
    )
    return 0


async def idle_cpu(base: Any, tmp: str) -> list[tuple[str, float, float]]:
    """(process, CPU seconds, wall seconds) over IDLE_SECONDS of rest, all measured at once."""
    town = copy_town(base, tmp + "/headless")
    headless = subprocess.Popen(
        [PYTHON, str(REPO / "tests" / "engine_runner.py"), town.root],
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    sleeper = subprocess.Popen(["sleep", str(IDLE_SECONDS * 3)])
    try:
        assert headless.stdout is not None
        ready = await asyncio.to_thread(headless.stdout.readline)
        if not ready.startswith("ready"):
            raise RuntimeError(f"the headless engine did not start: {ready!r}")
        await asyncio.sleep(1.0)  # its first reconcile and start-up are not rest
        pids = {
            "headless engine (engine_runner.py)": headless.pid,
            "`sleep` (the floor)": sleeper.pid,
        }
        t0, own0 = time.perf_counter(), self_cpu()
        cpu0 = {name: proc_cpu(pid) for name, pid in pids.items()}
        await asyncio.sleep(IDLE_SECONDS)
        wall, own = time.perf_counter() - t0, self_cpu() - own0
        rows = [("in-process engine (this bench, idle)", own, wall)]
        rows += [(name, proc_cpu(pid) - cpu0[name], wall) for name, pid in pids.items()]
        return rows
    finally:
        sleeper.kill()
        sleeper.wait()
        headless.terminate()
        headless.communicate(timeout=30)


def main() -> int:
    return asyncio.run(run(quick_flag()))


if __name__ == "__main__":
    sys.exit(main())
