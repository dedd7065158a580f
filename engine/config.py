"""town.toml as typed settings (pydantic), with sane defaults for everything.

Not imported on `gt`'s hot paths (pydantic costs ~50 ms to import); only commands that
schedule, dispatch or run the engine read it.
"""

from __future__ import annotations

import os
import re
import tomllib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.errors import GtError

DEFAULT_MAX_POLECATS = 10
DEFAULT_MAX_PER_RIG = 5


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TownSection(_Section):
    name: str = "town"


class SchedulerSettings(_Section):
    max_polecats: int = Field(DEFAULT_MAX_POLECATS, ge=0, description="working polecats, town")
    max_polecats_per_rig: int = Field(
        DEFAULT_MAX_PER_RIG, ge=0, description="working polecats per rig"
    )
    max_attempts: int = Field(3, ge=1)
    backoff_base_seconds: float = Field(5.0, ge=0)
    backoff_max_seconds: float = Field(300.0, ge=0)
    breaker_failures: int = Field(5, ge=1)
    breaker_window_seconds: float = Field(120.0, gt=0)
    breaker_cooldown_seconds: float = Field(300.0, ge=0)
    idle_retire_seconds: float = Field(900.0, ge=0)
    tick_seconds: float = Field(5.0, gt=0)

    # 0/unset means the default, never "unlimited" by accident.
    @field_validator("max_polecats")
    @classmethod
    def _town_default(cls, v: int) -> int:
        return v or DEFAULT_MAX_POLECATS

    @field_validator("max_polecats_per_rig")
    @classmethod
    def _rig_default(cls, v: int) -> int:
        return v or DEFAULT_MAX_PER_RIG


class WitnessSettings(_Section):
    stall_seconds: float = Field(300.0, gt=0, description="no progress this long: stalled")
    gupp_seconds: float = Field(900.0, gt=0, description="hooked, no progress: GUPP violation")
    ladder_seconds: float = Field(120.0, gt=0, description="between rungs (doubling)")
    max_restarts: int = Field(2, ge=0, description="session restarts per agent before kill")


class RuntimeSettings(_Section):
    model_config = ConfigDict(extra="allow")
    default: str = "script"


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

DEFAULT_PROTECTED = [".ci/", ".github/", ".gitlab-ci.yml", ".gastown/", "town.toml"]


class RigSettings(_Section):
    max_polecats: int = Field(0, ge=0)
    runtime: str | None = None
    on_conflict: Literal["assign_back", "auto_rebase"] = "assign_back"
    gates: dict[str, str] = Field(
        default_factory=dict, description="setup / lint / test / build commands"
    )
    gate_timeout_seconds: float = Field(900.0, gt=0)
    # Gates run code from agents' branches: they get the agents' allowlist, plus only the
    # variables named here (values are taken from the engine's environment).
    gate_env: list[str] = Field(default_factory=list, description="extra variables for gates")
    protected_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_PROTECTED))
    max_batch: int = Field(32, ge=1)

    @field_validator("gate_env")
    @classmethod
    def _env_names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not ENV_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return v


class EngineSettings(_Section):
    dispatcher: str = "tmux"


class TownConfig(_Section):
    model_config = ConfigDict(extra="allow")
    town: TownSection = TownSection()
    scheduler: SchedulerSettings = SchedulerSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    engine: EngineSettings = EngineSettings()
    witness: WitnessSettings = WitnessSettings()
    rigs: dict[str, RigSettings] = {}

    def rig_capacity(self, rig: str) -> int:
        override = self.rigs.get(rig)
        if override and override.max_polecats:
            return min(override.max_polecats, self.scheduler.max_polecats)
        return min(self.scheduler.max_polecats_per_rig, self.scheduler.max_polecats)

    def rig(self, rig: str) -> RigSettings:
        return self.rigs.get(rig) or RigSettings()

    def runtime_for(self, rig: str) -> str:
        override = self.rigs.get(rig)
        return (override.runtime if override and override.runtime else None) or self.runtime.default


def load_config(path: str) -> TownConfig:
    if not os.path.exists(path):
        return TownConfig()
    try:
        with open(path, "rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise GtError(f"{path}: not valid TOML ({exc})") from None
    try:
        return TownConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise GtError(f"{path}: {where}: {first['msg']}") from None
