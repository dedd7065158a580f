"""Failover between hosts, each reconcile of a host's engine.

Any live host's engine declares another host lost once its heartbeat is older than its
lease: in one durable transaction the host is marked lost, its agents are retired, the
beads they held go back to open (not a failed attempt: nothing counts towards the bead's
failures or the breaker; the next dispatch, on whichever host placement picks, is
attempt+1), an event is recorded and the mayor is mailed. The write is fenced by the
epoch that was seen expired, so two engines declaring at once release the work once.

Fencing the lost host's late calls: its agents are retired (their `gt done`, checkpoints
and heartbeats are refused: an agent retired, or not hooked, or a stale attempt, changes
nothing; a revived identity on another host gets a new session token), and its engine's
heartbeats name an epoch that is no longer live. When that engine runs again (a pause
ended, the network came back) its reconcile sees it is not live under its epoch,
re-joins under a new one, and stops every local session whose agent it no longer runs
(the agent checks stop sessions of agents that are not its own).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine import vocab
from engine.policy import host_expired

if TYPE_CHECKING:
    from engine.host_membership import HostMembership
    from engine.records import Host, HostRelease
    from engine.scheduler.reconciler import Scheduler

log = logging.getLogger("gastown.hosts")


def keep_membership(scheduler: Scheduler, membership: HostMembership) -> bool:
    """Re-join when this host was declared lost; True when it re-joined just now."""
    ledger = scheduler.ledger
    if membership.still_live(ledger):
        return False
    row = ledger.hosts.get(membership.name)
    if row is not None and row["state"] == "live" and row["epoch"] > membership.epoch:
        # another engine joined under our name: two engines must not share one host
        log.error(
            "host %s was joined by another engine (epoch %d, town %s); this one places "
            "nothing until it is stopped",
            membership.name,
            row["epoch"],
            row["town_root"],
        )
        return False
    log.warning(
        "host %s was declared lost (epoch %d); re-joining and stopping its stale sessions",
        membership.name,
        membership.epoch,
    )
    scheduler.host_epoch = membership.join(ledger)
    scheduler.host_seen.clear()
    return True


def declare_lost_hosts(scheduler: Scheduler) -> list[str]:
    """Every other live host whose lease ran out, declared lost; their names. A host
    stopped cleanly while its polecats still worked is given its lease to come back
    (and adopt them) too, then its work goes elsewhere."""
    ledger = scheduler.ledger
    now = ledger.now()
    lost = []
    busy: dict[str, int] | None = None
    # A silence counts from when this host last got back to the ledger: after an outage of
    # the ledger itself every host looks silent, and releasing all their work would be
    # the outage's doing, not theirs.
    membership = scheduler.membership
    since = membership.reachable_since if membership is not None else 0.0
    for host in ledger.hosts.list():
        if host["name"] == scheduler.host or host["state"] == "lost":
            continue
        if not host_expired(max(host["heartbeat_at"], since), host["lease_seconds"], now):
            continue
        if host["state"] == "stopped":
            busy = ledger.hosts.busy_counts() if busy is None else busy
            if not busy.get(host["name"]):
                continue
        silent = now - host["heartbeat_at"]
        reason = (
            f"host {host['name']} sent no heartbeat for {silent:.0f}s "
            f"(its lease is {host['lease_seconds']:g}s)"
        )
        with ledger.transaction(durable=True):
            released = ledger.hosts.declare_lost(
                host["name"], host["epoch"], by=f"host:{scheduler.host}", reason=reason
            )
            if released is None:
                continue  # it beat, or another engine declared it first
            subject, body = lost_mail(host, released, reason)
            ledger.mail.deliver(
                sender=f"host:{scheduler.host}", to=vocab.MAYOR, subject=subject, body=body
            )
        log.warning(
            "%s; declared it lost and released %d bead(s): %s",
            reason,
            len(released),
            ", ".join(r["bead_id"] for r in released) or "none",
        )
        lost.append(host["name"])
    return lost


def lost_mail(host: Host, released: list[HostRelease], reason: str) -> tuple[str, str]:
    """The mayor's mail about a lost host: what happened and what was put back."""
    subject = f"host {host['name']} lost: {len(released)} bead(s) go to other hosts"
    lines = [
        f"{reason}; it was declared lost.",
        f"It ran on {host['address'] or '(unknown address)'}, town {host['town_root']}.",
    ]
    if released:
        lines.append("Put back to open, to be dispatched again on another host:")
        lines += [f"  {r['bead_id']} (attempt {r['attempt']}, was {r['agent']})" for r in released]
    lines.append("When it comes back it re-joins and stops its stale sessions (`gt hosts`).")
    return subject, "\n".join(lines)
