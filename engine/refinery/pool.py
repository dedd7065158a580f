"""One refinery thread per rig, each with its own ledger connection, started by the engine."""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.records import Rig
    from engine.town import Town

log = logging.getLogger("gastown.refinery")

# A safety net only: the engine wakes every refinery after each reconcile, and every
# ledger commit (a `gt done` included) wakes the engine. Polling faster only costs CPU.
IDLE_WAIT = 5.0


class RefineryPool:
    def __init__(self, town: Town, config: TownConfig) -> None:
        self.town = town
        self.config = config
        self._stop = threading.Event()
        # one per rig: a shared event cleared by one thread could swallow another's wake-up
        self._wakes: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        from engine.refinery.gates import GateRunner

        self.gates = GateRunner(town.state_dir)

    def sync(self, rigs: list[Rig]) -> None:
        """Make sure every rig has a running refinery (rigs may be added at any time)."""
        with self._lock:
            for row in rigs:
                rig = row["name"]
                if not os.path.isdir(row["path"]):
                    continue  # no clone on disk (yet): nothing to merge into
                t = self._threads.get(rig)
                if t is None or not t.is_alive():
                    self._wakes.setdefault(rig, threading.Event())
                    t = threading.Thread(
                        target=self._run, args=(rig,), daemon=True, name=f"refinery-{rig}"
                    )
                    self._threads[rig] = t
                    t.start()

    def wake(self) -> None:
        for event in list(self._wakes.values()):
            event.set()

    def _run(self, rig: str) -> None:
        from engine.ledger import Ledger
        from engine.refinery.refinery import Refinery

        ledger = Ledger(self.town.ledger_path)
        try:
            if ledger.rigs.get(rig) is None:
                return
            refinery = Refinery(self.town, ledger, rig, self.config, self.gates)
            while not self._stop.is_set():
                if ledger.rigs.get(rig) is None:
                    return  # the rig was removed
                try:
                    busy = refinery.process_once()
                except Exception:  # a broken batch must not stop the queue for good
                    log.exception("refinery %s: batch failed; retrying", rig)
                    busy = False
                    self._stop.wait(2.0)
                if not busy:
                    wake = self._wakes[rig]
                    wake.wait(IDLE_WAIT)
                    wake.clear()
        finally:
            ledger.close()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        self.gates.stop()  # a gate may run for minutes: it must not outlive the engine
        for t in list(self._threads.values()):
            t.join(timeout)
