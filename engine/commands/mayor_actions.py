"""What happens to the mayor's session, recorded: started, stopped, restarted, mail handed
to it. The session itself is engine/mayor/'s (tmux); this is its one ledger write."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from engine.ledger import Ledger

KINDS = ("mayor_started", "mayor_stopped", "mayor_restarted", "mayor_mail_delivered")


class MayorChange(NamedTuple):
    kind: str  # one of KINDS
    data: dict[str, Any]


def record_mayor(ledger: Ledger, change: MayorChange, *, actor: str) -> None:
    if change.kind not in KINDS:
        raise ValueError(f"not a mayor event: {change.kind!r}")
    with ledger.transaction(durable=True):
        ledger.state.record_event(change.kind, actor=actor, data=change.data)
