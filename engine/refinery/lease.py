"""One refinery per rig, town-wide: the lease an engine holds while it runs a rig's queue.

With several hosts sharing a ledger, each engine starts a refinery thread for every rig,
but only the holder of the rig's lease (engine/ledger/refinery_leases.py) works its queue;
the others wait and take over when the holder stops renewing (its host died). A take-over
runs the single-host recovery of a landing in progress. In a town of one engine the lease
is always its own: the holder is named by machine and town directory, and a restarted
engine takes its predecessor's lease at once (the town's engine lock means that
predecessor is gone).

Renewal runs on its own thread (`Keeper`) with its own ledger connection: a gate may run
for minutes while the refinery's thread waits for it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.ledger import Ledger
    from engine.town import Town

log = logging.getLogger("gastown.refinery")

# How long a lease outlives its last renewal; renewed every third of it.
LEASE_SECONDS = 30.0


class LeaseLost(Exception):
    """This engine no longer holds the rig's lease: it records nothing more."""


def holder_name(town: Town) -> str:
    """This engine, as a lease names it: its machine and its town directory."""
    return f"{socket.gethostname()}:{town.root}"


class RefineryLease:
    def __init__(
        self, ledger: Ledger, rig: str, holder: str, seconds: float = LEASE_SECONDS
    ) -> None:
        from engine.ledger.refinery_leases import RefineryLeaseStore

        self.store = RefineryLeaseStore(ledger)
        self.rig = rig
        self.holder = holder
        self.seconds = seconds
        self.token: str | None = None
        self.fresh = False  # the last `hold` drew a new token (a take)
        self.renewed_at = 0.0  # monotonic: when this engine last took or extended it

    def hold(self) -> bool:
        """Take the lease, or extend it if held. Returns whether it is held now; a new
        token (a take, not an extension) sets `fresh`, which asks for recovery first.

        Held and renewed within the last third of its time: nothing is written. The
        refinery asks at every wake-up, and the engine wakes it after every reconcile; a
        write here would wake the engine again (a commit), and the two would spin. A
        lease lost meanwhile is still caught where it matters: `check`, in the landing's
        own transaction."""
        if self.token is not None and time.monotonic() < self.renewed_at + self.seconds / 3:
            self.fresh = False
            return True
        lease, before = self.store.acquire(self.rig, self.holder, self.seconds, token=self.token)
        previous = self.token
        self.token = lease["token"] if lease else None
        self.renewed_at = time.monotonic()
        self.fresh = lease is not None and lease["token"] != previous
        if self.fresh and before and before["holder"] != self.holder:
            log.warning(
                "%s: took over the refinery from %s (lease %d)",
                self.rig,
                before["holder"],
                lease["epoch"] if lease else 0,
            )
        return lease is not None

    def check(self) -> None:
        """Inside the transaction that records a landing: raise unless still held."""
        if self.token is None or not self.store.is_held(self.rig, self.token):
            self.token = None
            raise LeaseLost(self.rig)

    def valid(self) -> bool:
        return self.token is not None and self.store.is_held(self.rig, self.token)

    def release(self) -> None:
        if self.token is not None:
            self.store.release(self.rig, self.token)
            self.token = None


class Keeper:
    """Renews the leases the refinery threads hold, every third of their time."""

    def __init__(
        self,
        town: Town,
        stop: threading.Event,
        seconds: float = LEASE_SECONDS,
        open_ledger: Callable[[], Ledger] | None = None,
    ) -> None:
        self.open_ledger = open_ledger or town.open_ledger
        self.stop = stop
        self.seconds = seconds
        self.leases: dict[str, RefineryLease] = {}
        self._thread: threading.Thread | None = None

    def add(self, lease: RefineryLease) -> None:
        self.leases[lease.rig] = lease
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="refinery-lease")
            self._thread.start()

    def _run(self) -> None:
        from engine.ledger.refinery_leases import RefineryLeaseStore

        ledger = self.open_ledger()
        try:
            store = RefineryLeaseStore(ledger)
            while not self.stop.wait(self.seconds / 3):
                for lease in list(self.leases.values()):
                    token = lease.token
                    if token is None:
                        continue
                    try:
                        if not store.renew(lease.rig, token, self.seconds):
                            log.warning("%s: the refinery lease was taken over", lease.rig)
                            lease.token = None
                        else:
                            lease.renewed_at = time.monotonic()
                    except Exception:  # a ledger hiccup: the next round tries again
                        log.exception("%s: renewing the refinery lease failed", lease.rig)
        finally:
            ledger.close()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
