"""town.toml's [escalation] table: where an escalation of each severity goes, and how long
it may wait unacknowledged before the ladder raises it (engine/escalation_ladder.py).

```toml
[escalation]
max_raises = 2                  # re-escalations of one escalation, at most
[escalation.medium]
to = ["witness", "mayor"]       # "log" (the event only), "witness" (its rig's), "mayor"
stale_hours = 4                 # unacknowledged this long: one level up
[escalation.critical]
to = ["mayor"]
banner = true                   # the app's header banner
bell = true                     # the terminal bell, once per new critical escalation
```

Kept apart from engine/config.py (which embeds it) so that module stays within its size.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SEVERITIES = ("low", "medium", "high", "critical")
Target = Literal["log", "witness", "mayor"]
# Each severity's route when town.toml does not give it; a table that gives some keys
# (`[escalation.high] stale_hours = 1`) keeps the others from here.
DEFAULT_ROUTES: dict[str, dict[str, Any]] = {
    "low": {"to": ["log", "witness"]},
    # The rig's witness is told first (its mail is delivered first), and the mayor too:
    # an agent's `gt escalate` has always reached the mayor, and still does.
    "medium": {"to": ["witness", "mayor"]},
    "high": {"to": ["mayor"]},
    "critical": {"to": ["mayor"], "banner": True, "bell": True},
}


class EscalationRoute(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    to: list[Target] = Field(
        min_length=1, description="log (the event only), witness (the rig's), mayor"
    )
    stale_hours: float = Field(4.0, gt=0, description="unacknowledged this long: raised")
    banner: bool = Field(False, description="the app's header banner while it is open")
    bell: bool = Field(False, description="the app rings the terminal bell once")


class EscalationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_raises: int = Field(2, ge=0, le=3, description="re-escalations, at most")
    low: EscalationRoute = EscalationRoute(**DEFAULT_ROUTES["low"])
    medium: EscalationRoute = EscalationRoute(**DEFAULT_ROUTES["medium"])
    high: EscalationRoute = EscalationRoute(**DEFAULT_ROUTES["high"])
    critical: EscalationRoute = EscalationRoute(**DEFAULT_ROUTES["critical"])

    @model_validator(mode="before")
    @classmethod
    def _partial_routes(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                key: {**DEFAULT_ROUTES[key], **value}
                if key in DEFAULT_ROUTES and isinstance(value, dict)
                else value
                for key, value in data.items()
            }
        return data

    def route(self, severity: str) -> EscalationRoute:
        """The route of SEVERITY; an unknown one (an older ledger's) is medium's."""
        route: EscalationRoute = getattr(self, severity if severity in SEVERITIES else "medium")
        return route
