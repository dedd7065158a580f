"""Batching and bisection, as a pure algorithm (the real refinery and the benchmark share it).

A batch is stacked on the target's tip and gated once; green lands it whole. Red is
bisected: gate the left half. If it passes it lands, and the right half's failure is
implied — it is not gated again as a whole, only split further. If the left half fails,
recurse into it; the right half, now of unknown state, goes back to the front of the queue
to ride with the next batch instead of costing a gate run of its own.

Flakes: a single request seen failing alone is gated once more, alone, before it is
rejected. A single request whose failure is only implied is rejected on the implication —
unless the gate has flaked recently, in which case it too is confirmed alone first.

Every `land(group)` follows a passing `test(group)` of exactly that group, so what lands is
exactly what was tested.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

R = TypeVar("R")


class Outcome(Generic[R]):
    """What happened to one batch."""

    def __init__(self) -> None:
        self.gate_runs = 0
        self.landed: list[R] = []
        self.rejected: list[R] = []
        self.flaky: list[R] = []
        self.requeued: list[R] = []


def process(
    batch: Sequence[R],
    *,
    test: Callable[[list[R]], bool],
    land: Callable[[list[R]], None],
    reject: Callable[[R], None],
    flaked: Callable[[R], None] = lambda r: None,
    prepare: Callable[[list[R]], list[R]] = list,
    verify_implied: bool = False,
) -> Outcome[R]:
    """Land the good requests of `batch`, reject the bad ones, requeue the undecided.

    `prepare(group)` stacks the group on the current tip and returns the members that
    stacked cleanly (the caller handles conflicts and leaves them out).
    """
    out: Outcome[R] = Outcome()

    def gate(group: list[R]) -> bool:
        out.gate_runs += 1
        return test(group)

    def do_land(group: list[R]) -> None:
        land(group)
        out.landed.extend(group)

    def do_reject(item: R) -> None:
        reject(item)
        out.rejected.append(item)

    def single(item: R, *, observed: bool) -> None:
        if not observed and not verify_implied:
            do_reject(item)
            return
        alone = prepare([item])
        if not alone:
            return
        if gate(alone):  # the one re-test, alone
            flaked(item)
            out.flaky.append(item)
            do_land(alone)
        elif observed:
            do_reject(item)
        else:
            single(item, observed=True)  # now seen failing alone: one re-test

    def failing(group: list[R], *, observed: bool) -> None:
        """`group` fails on the current tip (seen failing, or implied)."""
        if len(group) == 1:
            single(group[0], observed=observed)
            return
        mid = len(group) // 2
        left, right = prepare(group[:mid]), group[mid:]
        if left and gate(left):
            do_land(left)
            failing(right, observed=False)
        else:
            if left:
                failing(left, observed=True)
            out.requeued.extend(right)

    group = prepare(list(batch))
    if group:
        if gate(group):
            do_land(group)
        else:
            failing(group, observed=True)
    return out


# (failure rate below, batch size): from the expected gate runs per landed request of the
# algorithm above (bench/bench_refinery.py prints the table this was read from).
SIZES = ((0.03, 32), (0.06, 16), (0.115, 8), (0.215, 4), (0.5, 2))


def batch_size(failure_rate: float, *, largest: int = 32) -> int:
    """Big batches when failures are rare; one at a time when most requests fail."""
    for limit, size in SIZES:
        if failure_rate < limit:
            return min(largest, size)
    return 1


class FailureRate:
    """A smoothed estimate of the per-request failure rate, updated per decided request."""

    # A light weight: each rejection would otherwise swing the batch size between tiers.
    def __init__(self, prior: float = 0.05, weight: float = 0.02) -> None:
        self.value = prior
        self.weight = weight

    def observe(self, failed: bool) -> None:
        self.value += self.weight * ((1.0 if failed else 0.0) - self.value)
