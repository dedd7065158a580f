"""[deacon] in town.toml: how often each patrol runs and the thresholds it applies.

Every `*_every_seconds` is a patrol's interval; the rest are its thresholds. The defaults
suit a town of a few rigs; all are checked by pydantic (unknown keys refused).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeaconSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stranded_every_seconds: float = Field(60.0, gt=0, description="stranded convoys")
    hooks_every_seconds: float = Field(60.0, gt=0, description="hooks of gone agents")
    hook_gone_seconds: float = Field(
        600.0, ge=0, description="an agent gone this long loses its hook"
    )
    crash_loop_every_seconds: float = Field(15.0, gt=0, description="crash-looping beads")
    crash_loop_failures: int = Field(
        3, ge=1, description="failed attempts within the window that quarantine a bead"
    )
    crash_loop_window_seconds: float = Field(900.0, gt=0)
    reap_every_seconds: float = Field(30.0, gt=0, description="idle polecats")
    # how long a polecat stays idle before it is reaped: [scheduler] idle_retire_seconds
    logs_every_seconds: float = Field(3600.0, gt=0, description="session logs")
    logs_keep_days: float = Field(14.0, gt=0, description="older session logs are deleted")
    events_every_seconds: float = Field(3600.0, gt=0, description="event compaction")
    events_keep: int = Field(20_000, ge=100, description="the newest events always kept")
    events_keep_days: float = Field(30.0, gt=0, description="younger events always kept")
    forecast_seconds: float = Field(180.0, gt=0, description="the conflict forecast")
