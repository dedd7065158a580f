"""town.toml as typed settings (pydantic), with sane defaults for everything.

Not imported on `gt`'s hot paths (pydantic costs ~50 ms to import); only commands that
schedule, dispatch or run the engine read it.
"""

from __future__ import annotations

import os
import tomllib
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from engine.config_section import Section as _Section
from engine.config_section import unknown_key as _unknown
from engine.deacon.settings import DeaconSettings
from engine.errors import GtError
from engine.escalation_routes import EscalationSettings
from engine.runtime_specs import (  # re-exported: town.toml's [runtime] lives there
    ENV_NAME,
    RuntimeSettings,
)
from engine.tomllines import TomlLines

DEFAULT_MAX_POLECATS = 10
DEFAULT_MAX_PER_RIG = 5


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
    # A runtime that hit a limit whose reset time its CLI did not show waits base, 2x base,
    # 4x ... up to max (engine/scheduler/runtime_pauses.py).
    runtime_pause_base_seconds: float = Field(60.0, gt=0)
    runtime_pause_max_seconds: float = Field(3600.0, gt=0)

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
    # After `gt done` the CLI is still inside that tool call: its session ends once its
    # screen reads idle twice (engine.polecats.witness), or after this long at the latest.
    finish_grace_seconds: float = Field(
        120.0, ge=0, description="a finished agent's session ends when idle, or after this"
    )


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


class ModelPrice(_Section):
    """[prices."<model or model prefix>"]: dollars per million tokens of each kind."""

    input: float = Field(ge=0, description="$ per million uncached input tokens")
    output: float = Field(ge=0, description="$ per million output tokens")
    cache_read: float = Field(0.0, ge=0, description="$ per million cache-read tokens")
    cache_write: float = Field(0.0, ge=0, description="$ per million cache-write tokens")


class Budget(_Section):
    tokens: int | None = Field(None, ge=1, description="tokens of every kind, summed")
    dollars: float | None = Field(None, gt=0, description="needs a [prices] table")


class BudgetSettings(Budget):
    """[budget]: the town's own limit; `convoy_*` the default for every convoy;
    [budget.convoys."<id>"] one convoy's. Spent: new dispatch stops for it."""

    convoy_tokens: int | None = Field(None, ge=1)
    convoy_dollars: float | None = Field(None, gt=0)
    convoys: dict[str, Budget] = {}

    def for_convoy(self, convoy_id: str) -> Budget:
        own = self.convoys.get(convoy_id)
        return own or Budget(tokens=self.convoy_tokens, dollars=self.convoy_dollars)


class EngineSettings(_Section):
    dispatcher: str = "tmux"


class LedgerSettings(_Section):
    # postgresql://user@host:port/db: a ledger shared by several hosts (engine/ledger/pg_db.py);
    # unset: the town's own SQLite file. Read early by engine/town.py (`ledger_target`).
    url: str | None = None


class HostSettings(_Section):
    """[host]: this machine as one host of a town shared across machines (`gastown
    --engine-only --host NAME`); its capacity is [scheduler] max_polecats."""

    rigs: list[str] = Field(default_factory=list, description="rigs served; empty: all")
    address: str = Field("", description="how other hosts reach this one; empty: hostname")
    # its engine renews the lease five times within it (engine/policy.py heartbeat_every)
    lease_seconds: float = Field(15.0, ge=1, description="silence before it is declared lost")


class MayorSettings(_Section):
    # the mayor's runtime (any preset or [runtime.NAME]); None: the town's default runtime
    runtime: str | None = None


class TownConfig(_Section):
    # [keys] (the app's key remaps, read from model_extra) is the one table kept as is.
    model_config = ConfigDict(extra="allow")
    town: TownSection = TownSection()
    scheduler: SchedulerSettings = SchedulerSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    engine: EngineSettings = EngineSettings()
    ledger: LedgerSettings = LedgerSettings()
    mayor: MayorSettings = MayorSettings()  # engine/mayor/
    host: HostSettings = HostSettings()  # engine/host_membership.py
    witness: WitnessSettings = WitnessSettings()
    rigs: dict[str, RigSettings] = {}
    budget: BudgetSettings = BudgetSettings()
    escalation: EscalationSettings = EscalationSettings()  # engine/escalation_routes.py
    deacon: DeaconSettings = DeaconSettings()  # engine/deacon/settings.py
    prices: dict[str, ModelPrice] = Field(default_factory=dict, validate_default=True)

    @field_validator("prices")
    @classmethod
    def _dollars_need_prices(cls, v: dict[str, ModelPrice], info: ValidationInfo) -> Any:
        b = info.data.get("budget")
        wanted = (
            [b.dollars, b.convoy_dollars, *(c.dollars for c in b.convoys.values())] if b else []
        )
        if any(d is not None for d in wanted) and not v:
            # Without prices a dollar budget could never be spent: refuse, not ignore.
            raise PydanticCustomError(
                "dollars_need_prices", "a dollar budget needs prices (dollars per million tokens)"
            )
        return v

    @model_validator(mode="before")
    @classmethod
    def _known_tables(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if key == "keys":
                    if not isinstance(value, dict) or not all(
                        isinstance(v, str) for v in value.values()
                    ):
                        raise PydanticCustomError(
                            "keys_type", "[keys] must map binding names to key strings"
                        )
                elif key not in cls.model_fields:
                    raise _unknown(key)
        return data

    def rig_capacity(self, rig: str) -> int:
        from engine.policy import rig_capacity  # the rule lives with the town's others

        return rig_capacity(self.scheduler, self.rigs.get(rig))

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
            text = fh.read().decode("utf-8")
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GtError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise GtError(f"{path}: not UTF-8 text") from None
    try:
        return TownConfig.model_validate(data)
    except ValidationError as exc:
        raise GtError(_problem(exc.errors()[0], TomlLines(path, text))) from None


def _problem(err: Any, text: TomlLines) -> str:
    """One line: where in the file, which key, what is wrong with it."""
    loc = [str(p) for p in err["loc"]]
    if err["type"] in ("extra_forbidden", "replaced_key") and "key" in (err.get("ctx") or {}):
        loc.append(str(err["ctx"]["key"]))  # raised by a section's own check: loc stops short
    if err["type"] == "keys_type":
        loc = ["keys"]
    where = text.locate_path(loc)
    name = ".".join(loc)
    if err["type"] == "extra_forbidden":
        if len(loc) == 1:
            return f"{where}: unknown table or key {name!r} (a typo?)"
        return f"{where}: unknown key {loc[-1]!r} in [{'.'.join(loc[:-1])}] (a typo?)"
    if err["type"] == "keys_type":
        return f"{where}: {err['msg']}"
    return f"{where}: {name}: {err['msg']}"
