"""Where a bead goes: a rig-less bead to rigs whose capabilities match its labels, then the
least loaded; with several hosts sharing the ledger, to the host with the most room."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from engine.policy import best_host, handoff_wait, host_expired, host_serves, rig_has_room

if TYPE_CHECKING:
    from engine.records import Host, Rig


def choose_rig(
    labels: Iterable[str],
    rigs: list[Rig],
    busy: Mapping[str, int],
    capacity: Callable[[str], int],
) -> tuple[str | None, str]:
    """(rig, why) — rig is None when no rig can take the bead now."""
    if not rigs:
        return None, "the town has no rigs (add one with `gt rig add`)"
    wanted = set(labels)
    matching = [r for r in rigs if wanted & set(r["capabilities"])]
    pool = matching or rigs
    open_rigs = [r for r in pool if rig_has_room(busy.get(r["name"], 0), capacity(r["name"]))]
    if not open_rigs:
        which = "matching rigs" if matching else "rigs"
        return None, f"all {which} are at capacity"

    def load(r: Rig) -> tuple[float, int, str]:
        cap = max(capacity(r["name"]), 1)
        used = busy.get(r["name"], 0)
        return used / cap, used, r["name"]

    best = min(open_rigs, key=load)
    why = (
        f"capabilities {sorted(wanted & set(best['capabilities']))} match"
        if matching
        else "least loaded"
    )
    return best["name"], why


# How long an engine remembers deferring a bead to a better host (it was claimed there, or
# is still waiting: then it is deferred once more, for one handoff wait).
FORGET_SECONDS = 3600.0


class HostPlacement:
    """Which host's engine claims a ready bead, when several engines share the ledger.

    Every engine runs the same rule over the same rows (inside its write transaction):
    a host claims only beads of rigs it serves; among the live hosts serving the bead's
    rig, the one with the most free capacity is preferred (ties: first name). A host that
    is not the preferred one still claims the bead once it has waited `handoff_wait` of
    the preferred host's heartbeat period since this engine first saw it: a live host
    that is not reconciling (paused breaker, stuck in git) never holds work back.
    Within one pass a bead left to another host counts as that host's, so a burst of
    ready beads is shared out at once: each engine claims its share in one transaction.
    """

    def __init__(
        self,
        me: Host,
        hosts: list[Host],
        busy: Mapping[str, int],
        now: float,
        seen: dict[str, float],
    ) -> None:
        self.me = me
        self.now = now
        self.seen = seen  # bead -> when this engine first deferred it (kept across ticks)
        for bead_id, first in list(seen.items()):  # claimed elsewhere long ago: forget it
            if now - first > FORGET_SECONDS:
                del seen[bead_id]
        self.hosts = {
            h["name"]: h
            for h in hosts
            if h["name"] == me["name"]
            or not host_expired(h["heartbeat_at"], h["lease_seconds"], now)
        }
        self.busy = {name: busy.get(name, 0) for name in self.hosts}

    def serves(self, rig: str) -> bool:
        return host_serves(self.me["rigs"], rig)

    def served(self, rigs: list[Rig]) -> list[Rig]:
        """The rigs this host may place a rig-less bead in."""
        return [r for r in rigs if self.serves(r["name"])]

    def waits(self, bead_id: str, rig: str) -> str | None:
        """None when this host claims the bead now, else why it leaves it to another."""
        me = self.me["name"]
        if not self.serves(rig):
            return f"rig {rig} is served by other hosts (this host {me} serves {self.me['rigs']})"
        free = {
            name: h["capacity"] - self.busy[name]
            for name, h in self.hosts.items()
            if host_serves(h["rigs"], rig)
        }
        best = best_host(free)
        if best is None or best == me:
            self.seen.pop(bead_id, None)
            return None
        first = self.seen.setdefault(bead_id, self.now)
        if self.now - first >= handoff_wait(self.hosts[best]["lease_seconds"]):
            self.seen.pop(bead_id, None)
            return None
        # Counted as that host's for the rest of this pass: the beads after it are placed
        # as if it had claimed it. Every engine then takes its own share of a burst in one
        # pass (round robin among equals), instead of one bead per wake-up of the others.
        self.busy[best] += 1
        return f"host {best} has more room ({free[best]} free); it takes it first"

    def claimed(self) -> None:
        self.busy[self.me["name"]] += 1
