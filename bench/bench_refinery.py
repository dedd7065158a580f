"""The refinery's batching: gate runs per landed request, and real seconds per landed request.

1. A simulated queue: each request is independently bad with probability p; a gate run on a
   group passes iff no member is bad (a deterministic coin, so `verify_implied=False`). The
   queue is driven exactly as `Refinery.process_once` drives it: take `batch_size(rate)` from
   the front, `bisect.process(...)`, put `outcome.requeued` back at the front, feed every
   landed (False) and rejected (True) request to a `FailureRate`. Policies: (a) ours,
   adaptive; (b) every fixed batch size 1..32 (the sweep `SIZES` in bisect.py is read from);
   (c) one at a time through the same algorithm (size 1: a failure is re-tested once alone,
   the flake policy); (d) one at a time, no re-test (one run per request: the naive floor).
   Every policy sees the same queues (same seeds). Each run checks that every good request
   landed and every bad one was rejected, exactly once. Next to the simulation, the exact
   expectation for a fixed size (batches of iid requests: a requeued right half is
   independent of what was learnt about its left half), which also gives the crossovers.
2. Real overhead: a town with one rig whose gate is `sh check.sh` (greps for BROKEN, like
   tests/test_refinery.py); K requests each adding its own file; `Refinery.process_once()`
   until it returns False, timed. Floor, same run: the bare work by hand in a fresh clone,
   `git merge --no-ff <commit>` then the gate once, per request (`git reset --hard` after a
   red gate).
Usage: python bench/bench_refinery.py [--quick]
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from functools import cache, partial
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from common import median, print_table, quick_flag

from engine.refinery import bisect

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

RATES = (0.02, 0.05, 0.1, 0.2, 0.3)
SWEEP = range(1, 33)
CHECK = """#!/bin/sh
# the rig's test gate: no file may contain the word BROKEN
if grep -rl BROKEN --exclude-dir=.git --exclude=check.sh . ; then exit 1; fi
exit 0
"""


# ---- 1. the simulated queue ----------------------------------------------------------------


def make_queue(n: int, p: float, seed: int) -> list[bool]:
    rng = random.Random(f"{seed}:{p}")
    return [rng.random() < p for _ in range(n)]


def drive(bad: list[bool], size: Callable[[float], int]) -> dict[str, float]:
    """The refinery's loop over a simulated queue; checks every decision it makes."""
    queue = deque(range(len(bad)))
    rate = bisect.FailureRate()
    landed: list[int] = []
    rejected: list[int] = []
    runs = batches = picked = 0

    def test(group: list[int]) -> bool:
        return not any(bad[i] for i in group)

    while queue:
        k = size(rate.value)
        batch = [queue.popleft() for _ in range(min(k, len(queue)))]
        out = bisect.process(
            batch, test=test, land=landed.extend, reject=rejected.append, verify_implied=False
        )
        runs += out.gate_runs
        batches += 1
        picked += len(batch)
        queue.extendleft(reversed(out.requeued))
        for _ in out.landed:
            rate.observe(False)
        for _ in out.rejected:
            rate.observe(True)
    good = [i for i, b in enumerate(bad) if not b]
    if sorted(landed) != good or sorted(rejected) != [i for i, b in enumerate(bad) if b]:
        raise AssertionError(
            "the simulated refinery landed a bad request or rejected a good "
            f"one: {len(landed)} landed of {len(good)} good, "
            f"{len(rejected)} rejected of {len(bad) - len(good)} bad"
        )
    return {"runs": runs, "landed": len(landed), "batches": batches, "picked": picked}


def per_landed(results: list[dict[str, float]]) -> float:
    """Gate runs per landed request over all seeds (a ratio of sums, not a mean of ratios)."""
    return sum(r["runs"] for r in results) / sum(r["landed"] for r in results)


@cache
def _failing(n: int, observed: bool, q: float) -> tuple[float, float, float]:
    """Expected (gate runs, landed, requeued) of `failing(group of n, observed)` in bisect.py,
    given that the group holds at least one bad request (each bad with probability 1-q)."""
    if n == 1:
        return (1.0 if observed else 0.0, 0.0, 0.0)  # the re-test alone, or an implication
    m = n // 2
    p_left_ok = q**m * (1 - q ** (n - m)) / (1 - q**n)
    r_runs, r_landed, r_req = _failing(n - m, False, q)
    l_runs, l_landed, l_req = _failing(m, True, q)
    return (
        1 + p_left_ok * r_runs + (1 - p_left_ok) * l_runs,
        p_left_ok * (m + r_landed) + (1 - p_left_ok) * l_landed,
        p_left_ok * r_req + (1 - p_left_ok) * (l_req + n - m),
    )


def exact(size: int, p: float) -> float:
    """Expected gate runs per landed request, batch size fixed (renewal-reward: every batch
    is `size` iid requests, requeued ones included)."""
    q = 1 - p
    f_runs, f_landed, _ = _failing(size, True, q)
    ok = q**size
    return (1 + (1 - ok) * f_runs) / (ok * size + (1 - ok) * f_landed)


def simulate(quick: bool) -> None:
    n = 2_000 if quick else 20_000
    seeds = range(5 if quick else 10)  # the headline rows
    sweep_seeds = range(2 if quick else 3)  # the first of them, for the 32-size sweep
    t0 = time.perf_counter()
    queues = {p: [make_queue(n, p, s) for s in seeds] for p in RATES}

    def fixed(k: int) -> Callable[[float], int]:
        return lambda _rate: k

    sweep = {
        (k, p): per_landed([drive(queues[p][s], fixed(k)) for s in sweep_seeds])
        for k in SWEEP
        for p in RATES
    }

    def best_fixed(p: float) -> int:
        return min(SWEEP, key=lambda k: sweep[k, p])

    best = {p: best_fixed(p) for p in RATES}
    ours = {p: [drive(b, bisect.batch_size) for b in queues[p]] for p in RATES}
    runs = {
        (name, p): [drive(b, policy) for b in queues[p]]
        for p in RATES
        for name, policy in (
            ("a'", fixed(bisect.batch_size(p))),
            ("b", fixed(best[p])),
            ("c", fixed(1)),
        )
    }
    elapsed = time.perf_counter() - t0

    rows: list[Sequence[object]] = []
    for k in SWEEP:
        row: list[object] = [k]
        for p in RATES:
            mark = ("*" if best[p] == k else "") + ("<" if bisect.batch_size(p) == k else "")
            row.append(f"{sweep[k, p]:.3f}{mark}")
        row.append(" ".join(f"{exact(k, p):.3f}" for p in RATES))
        rows.append(row)
    print_table(
        f"sweep: gate runs per landed request, batch size fixed, {n:,} requests x "
        f"{len(sweep_seeds)} seeds (* best, < batch_size(p) in bisect.py)",
        ["size", *(f"p={p}" for p in RATES), "exact (same p order)"],
        rows,
    )

    rows = []
    verdict = {}
    for p in RATES:
        a = per_landed(ours[p])
        spread = statistics.stdev(r["runs"] / r["landed"] for r in ours[p])
        a1, b, c = (per_landed(runs[x, p]) for x in ("a'", "b", "c"))
        d = sum(len(q) for q in queues[p]) / sum(r["landed"] for r in ours[p])
        mean_batch = sum(r["picked"] for r in ours[p]) / sum(r["batches"] for r in ours[p])
        rows.append(
            (
                p,
                f"{a:.3f}",
                f"{spread:.3f}",
                f"{mean_batch:.1f}",
                f"{a1:.3f} ({bisect.batch_size(p)})",
                f"{b:.3f} ({best[p]})",
                f"{c:.3f}",
                f"{d:.3f}",
                f"{a / b:.2f}",
                f"{a / c:.2f}",
                f"{a / d:.2f}",
            )
        )
        verdict[p] = (a, c, spread / len(seeds) ** 0.5)
    print_table(
        f"gate runs per landed request, {n:,} requests x {len(seeds)} seeds: "
        "(a) ours, adaptive; (a') batch_size(p) fixed at the true p; (b) the sweep's "
        "best fixed size; (c) one at a time, a red re-tested once alone; (d) one at a "
        "time, one run each (the floor)",
        [
            "p",
            "(a) ours",
            "sd/seed",
            "mean batch",
            "(a') (size)",
            "(b) (size)",
            "(c) 1-at-a-time",
            "(d) floor",
            "a/b",
            "a/c",
            "a/d",
        ],
        rows,
    )
    a05, _, se05 = verdict[0.05]
    a3, c3, _ = verdict[0.3]
    print(
        f"\naim (a) <= 0.35 at p=0.05: {a05:.3f} +- {se05:.3f} (std. error) -> "
        f"{'met' if a05 <= 0.35 else 'MISSED'}; aim (a) <= (c) at p=0.3: {a3:.3f} vs "
        f"{c3:.3f} -> {'met' if a3 <= c3 else 'MISSED'}"
    )
    print(
        f"(every run checked: all good requests landed, all bad ones rejected, once each; "
        f"{elapsed:.1f} s)"
    )

    rows = []
    span: list[Any] = []
    for p in [round(0.005 * i, 3) for i in range(1, 121)]:
        k = min(SWEEP, key=partial(exact, p=p))
        ours_k = bisect.batch_size(p)
        excess = exact(ours_k, p) / exact(k, p) - 1
        if span and span[2:4] == [k, ours_k]:
            span[1] = p
            span[4] = max(span[4], excess)
        else:
            if span:
                rows.append(span)
            span = [p, p, k, ours_k, excess]
    rows.append(span)
    print_table(
        "exact: the best fixed size by p, and batch_size(p)'s excess over it",
        ["p from", "p to", "best size", "batch_size(p)", "max excess"],
        [(f"{a:.3f}", f"{b:.3f}", k, o, f"{e:.1%}") for a, b, k, o, e in rows],
    )


# ---- 2. the real refinery on a small repository --------------------------------------------


def git(cwd: str, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def real_once(root: str, k: int, bad_at: int | None) -> dict[str, Any]:
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.refinery.refinery import Refinery
    from engine.rig_setup import add_rig
    from engine.town import init_town
    from tests.conftest import make_source_repo, submit_work

    town = init_town(os.path.join(root, "town"))
    ledger = Ledger(town.ledger_path)
    try:
        source = make_source_repo(Path(root) / "src", {"README.md": "# demo\n", "check.sh": CHECK})
        add_rig(town, ledger, "web", str(source), prefix="gt", capabilities=[], gates=[])
        config = TownConfig.model_validate(
            {
                "scheduler": {"backoff_base_seconds": 0, "max_attempts": 5},
                "rigs": {"web": {"gates": {"test": "sh check.sh"}}},
            }
        )
        mrs = [
            submit_work(
                SimpleNamespace(ledger=ledger),  # type: ignore[arg-type]
                f"feature {i}",
                {f"f{i}.txt": "BROKEN\n" if i == bad_at else f"feature {i}\n"},
            )[1]
            for i in range(k)
        ]
        commits = [ledger.mq.require(mr)["commit"] for mr in mrs]
        repo = ledger.rigs.require("web")["path"]
        floor_dir = os.path.join(root, "floor")
        git(root, "clone", "-q", repo, floor_dir)  # before the refinery deletes the branches
        git(floor_dir, "checkout", "-q", "--detach", git(repo, "config", "gastown.main"))

        refinery = Refinery(town, ledger, "web", config)
        refinery.recover()  # a running refinery has its worktree already
        gate_runs = batches = 0
        t0 = time.perf_counter()
        while refinery.process_once():
            batches += 1
            gate_runs += refinery.stats()["last_batch"]["gate_runs"]
        ours = time.perf_counter() - t0
        states = [ledger.mq.require(mr)["state"] for mr in mrs]
        want = ["failed" if i == bad_at else "landed" for i in range(k)]
        if states != want:
            raise AssertionError(f"the refinery decided {states}, expected {want}")

        t0 = time.perf_counter()
        floor_gates = []
        for c in commits:
            git(floor_dir, "merge", "--no-ff", "--no-edit", c)
            g0 = time.perf_counter()
            ok = (
                subprocess.run(["sh", "check.sh"], cwd=floor_dir, capture_output=True).returncode
                == 0
            )
            floor_gates.append(time.perf_counter() - g0)
            if not ok:
                git(floor_dir, "reset", "-q", "--hard", "HEAD~1")
        floor = time.perf_counter() - t0
        return {
            "ours": ours,
            "floor": floor,
            "gate_runs": gate_runs,
            "batches": batches,
            "landed": want.count("landed"),
            "gate": median(floor_gates),
        }
    finally:
        ledger.close()


def real(quick: bool) -> None:
    k = 4 if quick else 8
    reps = 2 if quick else 5
    rows = []
    for label, bad_at in (("all good", None), (f"request {k // 2} of {k} bad", k // 2 - 1)):
        results = []
        for _ in range(reps):
            root = tempfile.mkdtemp(prefix="bench-refinery-")
            try:
                results.append(real_once(root, k, bad_at))
            finally:
                shutil.rmtree(root, ignore_errors=True)
        r0 = results[0]
        landed = r0["landed"]
        ours = median([r["ours"] for r in results]) / landed
        floor = median([r["floor"] for r in results]) / landed
        rows.append(
            (
                label,
                landed,
                r0["batches"],
                r0["gate_runs"],
                k,
                f"{ours * 1000:.1f}",
                f"{floor * 1000:.1f}",
                f"{ours / floor:.2f}x",
                f"{median([r['gate'] for r in results]) * 1000:.1f}",
            )
        )
    print_table(
        f"real refinery: K={k} requests, gate `sh check.sh`, median of {reps} towns; "
        "ms per landed request (floor: merge --no-ff + gate by hand, per request)",
        [
            "queue",
            "landed",
            "batches",
            "gate runs",
            "floor gate runs",
            "ours ms",
            "floor ms",
            "ours/floor",
            "one gate ms",
        ],
        rows,
    )


def main() -> int:
    quick = quick_flag()
    logging.getLogger("gastown").addHandler(logging.NullHandler())  # "... failed the gates"
    simulate(quick)
    real(quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
