"""This engine as one host of a town shared across machines (`gastown --engine-only --host`).

The engine joins at start (a new epoch; its capacity is [scheduler] max_polecats, its rigs
and address come from [host]), renews its lease on a thread of its own with its own ledger
connection (a long git or tmux call, or a slow reconcile, never costs it the lease; a
paused or killed process does), and marks itself stopped on a clean stop. Every
membership write names the epoch, so once another engine declared this host lost, its
late heartbeats change nothing: the reconcile notices (`still_live`) and re-joins under a
new epoch (engine/scheduler/host_failover.py).

Mixing rule: an engine without --host refuses to start while the ledger has live hosts
(it would run agents nobody else knows where to find), and an engine with --host refuses
while polecats of a single-host engine are still working (it would place work beside an
engine that ignores hosts).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from typing import TYPE_CHECKING

from engine.errors import GtError
from engine.policy import heartbeat_every, host_expired

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.config import TownConfig
    from engine.ledger import Ledger

log = logging.getLogger("gastown.host")


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def host_name_problem(name: str) -> str | None:
    """Why `name` cannot name a host (it appears in sessions' addresses and logs), or None."""
    if _NAME.fullmatch(name):
        return None
    return (
        f"{name!r} is not a host name: use letters, digits, '.', '_' or '-' "
        "(at most 63, starting with a letter or digit)"
    )


def refuse_hostless(ledger: Ledger) -> None:
    """An engine without --host may not run while hosts serve the ledger."""
    live = ledger.hosts.live()
    if live:
        names = ", ".join(h["name"] for h in live)
        raise GtError(
            f"this town's ledger is served by hosts ({names}): start this engine with "
            "--host NAME to join them (`gt hosts` lists them); nothing was started"
        )


class HostMembership:
    def __init__(self, name: str, config: TownConfig, town_root: str) -> None:
        self.name = name
        self.config = config
        self.town_root = os.path.realpath(town_root)  # what its tmux socket is named by
        self.epoch = 0
        self.lease = config.host.lease_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # the epoch, between the reconcile and the beats
        # Since when (the ledger's clock) this host has reached the ledger without a break:
        # another host's silence counts only from then (engine/scheduler/host_failover.py).
        self.reachable_since = 0.0
        self._beat_failed = False

    def join(self, ledger: Ledger) -> int:
        """Register as live under a new epoch (refused beside a single-host engine)."""
        busy = ledger.hosts.hostless_busy()
        if busy:
            raise GtError(
                f"{busy} polecat(s) of a single-host engine are still working in this "
                "ledger: stop that engine and let its work finish (or release it) before "
                f"host {self.name} joins; nothing was started"
            )
        known = ledger.hosts.get(self.name)
        if (
            known is not None
            and known["state"] == "live"
            and known["town_root"] != self.town_root
            and not host_expired(known["heartbeat_at"], known["lease_seconds"], ledger.now())
        ):
            raise GtError(
                f"host {self.name} is already live (its engine runs the town at "
                f"{known['town_root']} on {known['address']}): give this one another "
                "--host name; nothing was started"
            )
        settings = self.config.host
        epoch = ledger.hosts.join(
            self.name,
            capacity=self.config.scheduler.max_polecats,
            rigs=list(settings.rigs),
            address=settings.address or socket.gethostname(),
            town_root=self.town_root,
            lease_seconds=self.lease,
        )
        with self._lock:
            self.epoch = epoch
            self.reachable_since = ledger.now()
        log.info("host %s joined the town (epoch %d)", self.name, epoch)
        return epoch

    def note_beat(self, ok: bool, now: float) -> None:
        """A beat reached the ledger, or did not. The first that does after one that did
        not restarts `reachable_since`: when the ledger itself was away (its server
        restarted, the network), every host was silent, and none is lost for that."""
        with self._lock:
            if ok and self._beat_failed:
                self.reachable_since = now
            self._beat_failed = not ok

    def still_live(self, ledger: Ledger) -> bool:
        """Whether the ledger still has this host live under our epoch."""
        row = ledger.hosts.get(self.name)
        return row is not None and row["state"] == "live" and row["epoch"] == self.epoch

    def start_heartbeat(self, target: str, clock: Callable[[], float]) -> None:
        """Renew the lease every heartbeat period on a thread with its own connection."""
        self._thread = threading.Thread(
            target=self._beat_loop, args=(target, clock), name=f"host-{self.name}", daemon=True
        )
        self._thread.start()

    def _beat_loop(self, target: str, clock: Callable[[], float]) -> None:
        from engine.ledger import Ledger

        every = heartbeat_every(self.lease)
        ledger = Ledger(target, clock=clock)
        ledger.notify_commits = False  # a heartbeat is nobody's news: wake no engine
        try:
            while not self._stop.wait(every):
                with self._lock:
                    epoch = self.epoch
                try:
                    if not ledger.hosts.beat(self.name, epoch):
                        log.warning("host %s is not live under epoch %d", self.name, epoch)
                    self.note_beat(True, clock())
                except Exception:  # a busy or unreachable ledger: try again next beat
                    log.exception("host %s could not renew its lease", self.name)
                    self.note_beat(False, clock())
        finally:
            ledger.close()

    def leave(self, ledger: Ledger | None) -> None:
        """Stop beating, and mark the host stopped (only under our own epoch)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if ledger is not None and self.epoch and ledger.hosts.stop(self.name, self.epoch):
            log.info("host %s stopped", self.name)
