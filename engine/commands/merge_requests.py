"""The merge queue as a person sees it: list it with each rig's batch size; retry, reject
or approve one request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.records import MergeRequest, QueuedMergeRequest


class RigBatch(NamedTuple):
    """How big the refinery's next batch for a rig is, and why."""

    rig: str
    batch_size: int
    failure_rate: float  # observed, smoothed, rounded for people
    last_batch: str | None


class QueueListing(NamedTuple):
    requests: tuple[QueuedMergeRequest, ...]
    rigs: tuple[RigBatch, ...]

    def batch_size(self, rig: str) -> int | None:
        return next((r.batch_size for r in self.rigs if r.rig == rig), None)

    def as_json(self) -> list[dict[str, Any]]:
        """The documented JSON shape (`gt mq list --json`): each request with its rig's
        current batch size."""
        return [{**m, "batch_size": self.batch_size(m["rig"])} for m in self.requests]


class RequestDecided(NamedTuple):
    """A request after a person's decision."""

    mr_id: str
    source_bead: str
    state: str


def rig_batch(ledger: Ledger, config: TownConfig, rig: str) -> RigBatch:
    """The batch size the refinery would take now (engine/refinery/stats.py: the one rule)."""
    from engine.refinery import stats as refinery_stats

    stats = refinery_stats.read(ledger, rig)
    return RigBatch(
        rig=rig,
        batch_size=refinery_stats.batch_size(stats, config.rig(rig).max_batch),
        failure_rate=round(stats["failure_rate"], 4),
        last_batch=stats.get("last_batch"),
    )


def list_queue(
    ledger: Ledger, config: TownConfig, *, rig: str | None = None, include_closed: bool = False
) -> QueueListing:
    """Open requests (and failed or conflicting ones, which wait for a person); with
    `include_closed`, landed and dropped ones too."""
    from engine.ledger.merge_queue import OPEN_STATES

    with ledger.snapshot():
        mrs = ledger.mq.list(
            rig=rig, states=None if include_closed else (*OPEN_STATES, "failed", "conflict")
        )
        rigs = [r["name"] for r in ledger.rigs.list() if not rig or r["name"] == rig]
        batches = tuple(rig_batch(ledger, config, name) for name in rigs)
    return QueueListing(tuple(mrs), batches)


def retry(ledger: Ledger, mr_id: str, *, actor: str) -> RequestDecided:
    with ledger.transaction(durable=True):
        return _decided(ledger.mq.retry(mr_id, actor=actor))


def reject(
    ledger: Ledger, config: TownConfig, mr_id: str, *, reason: str, actor: str
) -> RequestDecided:
    """The bead goes back with the reason; the rejection counts as one of its attempts."""
    from engine.policy import rejection
    from engine.refinery import send_back

    retry = rejection(config.scheduler.max_attempts)
    mr = send_back.rejected(ledger, mr_id, reason=reason, actor=actor, retry=retry)
    return _decided(mr)


def approve(ledger: Ledger, mr_id: str, *, actor: str) -> RequestDecided:
    with ledger.transaction(durable=True):
        return _decided(ledger.mq.approve(mr_id, actor=actor))


def _decided(mr: MergeRequest) -> RequestDecided:
    return RequestDecided(mr["id"], mr["source_bead"], mr["state"])
