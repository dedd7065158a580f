"""Engine and dispatcher that record when: each bead's start, each reconcile's span
(bench_wake.py and bench_pg.py time wake-ups with them)."""

from __future__ import annotations

import time
from typing import Any


def timed_classes() -> tuple[type, type]:
    """(TimedDispatcher, TimedEngine): when each bead was started; each reconcile's span."""
    from engine.engine import Engine
    from tests.recording import RecordingDispatcher

    class TimedDispatcher(RecordingDispatcher):
        def __init__(self) -> None:
            super().__init__()
            self.at: dict[str, tuple[float, float]] = {}  # bead -> (perf_counter, epoch)

        def start(self, assignment: Any) -> Any:
            out = super().start(assignment)
            self.at[assignment.bead_id] = (time.perf_counter(), time.time())
            return out

    class TimedEngine(Engine):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.timings: list[tuple[float, float, set[str]]] = []

        async def reconcile(self) -> Any:
            t0 = time.perf_counter()
            report = await super().reconcile()
            self.timings.append((t0, time.perf_counter(), {a.bead_id for a in report.started}))
            return report

    return TimedDispatcher, TimedEngine
