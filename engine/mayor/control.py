"""What a person does to the mayor, from `gt mayor` or the app (Engine.mayor): start, stop,
status, tell — the session's side (engine.mayor.session) and its event, once for both."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.commands.mayor_actions import MayorChange, record_mayor
from engine.errors import UsageError
from engine.mayor import session

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.mayor.session import MayorStatus
    from engine.town import Town

ACTIONS = ("start", "stop", "status", "tell")


def act(
    town: Town,
    config: TownConfig,
    ledger: Ledger,
    action: str,
    *,
    text: str = "",
    actor: str = "mayor",
) -> MayorStatus:
    """Do `action`; the mayor's status after it. `text` is the line `tell` types (checked:
    one line, no control character; Enter is pressed after it, separately)."""
    if action == "start":
        status = session.start(town, config, ledger)
        data = {"runtime": status.runtime, "session": status.session}
        record_mayor(ledger, MayorChange("mayor_started", data), actor=actor)
        return status
    if action == "stop":
        status = session.stop(town, config)
        record_mayor(ledger, MayorChange("mayor_stopped", {"runtime": status.runtime}), actor=actor)
        return status
    if action == "tell":
        session.tell(town, config, text)
        return session.status(town, config)
    if action == "status":
        return session.status(town, config)
    raise UsageError(f"unknown mayor action {action!r} (one of {', '.join(ACTIONS)})")
