"""A rig's refinery statistics, kept in the ledger's state table, and the batch size they give.

The one place that names the state key and the prior: the refinery writes these statistics,
the views and `gt mq` read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.refinery import bisect

if TYPE_CHECKING:
    from engine.ledger import Ledger

# The failure rate a rig's refinery assumes before it has decided any request.
PRIOR_FAILURE_RATE = 0.05


def state_key(rig: str) -> str:
    return f"refinery:{rig}"


def read(ledger: Ledger, rig: str) -> dict[str, Any]:
    """The rig's statistics: failure_rate, flakes, last_batch (the prior when none yet)."""
    found: dict[str, Any] = ledger.state.get(
        state_key(rig), {"failure_rate": PRIOR_FAILURE_RATE, "flakes": []}
    )
    return found


def write(ledger: Ledger, rig: str, stats: dict[str, Any]) -> None:
    with ledger.transaction():
        ledger.state.put(state_key(rig), stats)


def batch_size(stats: dict[str, Any], max_batch: int) -> int:
    """The batch the refinery takes now: its failure rate's tier, capped by the rig's max_batch."""
    return bisect.batch_size(stats["failure_rate"], largest=max_batch)
