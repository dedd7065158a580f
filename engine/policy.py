"""The town's rules, written once: how long a failed bead waits before it is tried again,
when its attempts are used up, how long the witness waits between rungs, and how many
polecats the town and each rig may have at work.

Pure functions of numbers (no ledger, no clock, no I/O) so the scheduler, the refinery and
the commands ask the same question and get the same answer. The caller makes each decision
inside the ledger transaction that writes it (reading the failure count there) and hands the
ledger the decided values; the ledger never imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
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
