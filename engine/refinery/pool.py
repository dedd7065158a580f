"""One refinery thread per rig, each with its own ledger connection, started by the engine.

Town-wide, one engine at a time works a rig's queue: each thread works only while it
holds the rig's lease (engine/refinery/lease.py), renewed by one keeper thread, and
released when the engine stops so another host need not wait for it to expire.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from engine import upstream
from engine.errors import GtError

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.records import Rig
    from engine.town import Town

log = logging.getLogger("gastown.refinery")

# A safety net only: the engine wakes every refinery after each reconcile, and every
# ledger commit (a `gt done` included) wakes the engine. Polling faster only costs CPU.
IDLE_WAIT = 5.0


class RefineryPool:
    def __init__(self, town: Town, config: TownConfig, lease_seconds: float | None = None) -> None:
        from engine.refinery.lease import LEASE_SECONDS, Keeper

        self.town = town
        # On a shared ledger a rig's refinery moves to another host after twice the host
        # lease ([host] lease_seconds): a dead host's queue waits about as long as its beads.
        shared = 2 * config.host.lease_seconds if town.shared_ledger else None
        self.lease_seconds = lease_seconds or shared or LEASE_SECONDS
        self.config = config
        self._stop = threading.Event()
        # one per rig: a shared event cleared by one thread could swallow another's wake-up
        self._wakes: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        from engine.refinery.gates import GateRunner

        self.gates = GateRunner(town.state_dir)
        self.keeper = Keeper(town, self._stop, self.lease_seconds)

    def sync(self, rigs: list[Rig]) -> None:
        """Make sure every rig has a running refinery (rigs may be added at any time)."""
        with self._lock:
            for row in rigs:
                rig = row["name"]
                if not os.path.isdir(upstream.local_clone(self.town, rig)):
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
        from engine.refinery.lease import RefineryLease, holder_name
        from engine.refinery.refinery import Refinery

        ledger = self.town.open_ledger()
        lease = None
        try:
            if ledger.rigs.get(rig) is None:
                return
            lease = RefineryLease(ledger, rig, holder_name(self.town), self.lease_seconds)
            self.keeper.add(lease)
            refinery = Refinery(self.town, ledger, rig, self.config, self.gates, lease)
            while not self._stop.is_set():
                if ledger.rigs.get(rig) is None:
                    return  # the rig was removed
                try:
                    busy = refinery.process_once()
                except GtError as exc:
                    # said in one line (an upstream refusing a push, a ledger away): the
                    # same cause would print the same traceback at every retry
                    log.error("refinery %s: batch failed: %s; retrying", rig, exc.message)
                    busy = False
                    self._stop.wait(2.0)
                except Exception:  # a broken batch must not stop the queue for good
                    log.exception("refinery %s: batch failed; retrying", rig)
                    busy = False
                    self._stop.wait(2.0)
                if not busy:
                    wake = self._wakes[rig]
                    wake.wait(IDLE_WAIT)
                    wake.clear()
        finally:
            if lease is not None:
                try:
                    lease.release()  # a clean stop: another host takes over at once
                except Exception:
                    log.exception("refinery %s: releasing its lease failed", rig)
            ledger.close()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        self.gates.stop()  # a gate may run for minutes: it must not outlive the engine
        for t in list(self._threads.values()):
            t.join(timeout)
        self.keeper.join(timeout)
