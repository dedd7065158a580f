"""town.toml as typed settings (pydantic), with sane defaults for everything.

Not imported on `gt`'s hot paths (pydantic costs ~50 ms to import); only commands that
schedule, dispatch or run the engine read it.
"""

from __future__ import annotations

import os
import re
import tomllib
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from engine.deacon.settings import DeaconSettings
from engine.errors import GtError
from engine.escalation_routes import EscalationSettings
from engine.tomllines import TomlLines

DEFAULT_MAX_POLECATS = 10
DEFAULT_MAX_PER_RIG = 5
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Runtime keys the screen rules replaced (engine/polecats/screens/): refused with that said.
REPLACED_BY_SCREEN_RULES = ("busy_hint", "idle_hint", "dialogs")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _unknown(key: str) -> PydanticCustomError:
    """An unknown key in a section that keeps some extras (runtime tables, [keys]): the
    same error pydantic gives for the others, naming the key."""
    return PydanticCustomError("extra_forbidden", "unknown key {key}", {"key": key})


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


def _env_name(name: str) -> str:
    if not ENV_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not an environment variable name")
    return name


class RuntimeSpec(_Section):
    """One agent runtime: a preset (engine/polecats/runtimes.py) or a `[runtime.NAME]` table.

    `prompt` and `autonomy` are descriptions shown by `gt runtime list`; the launcher reads
    `argv`; the fleet `env`, `set_env`, `root_env`, `ready_delay` and `submit_delay`; the
    agent homes (engine/polecats/agent_homes.py) `home_env`, `home_layout` and `login_files`.
    What its screen shows (working, idle, dialogs) is read by the screen rules
    (engine/polecats/screens/), not by keys here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, data: Any) -> Any:
        # Refused, not ignored: a hint silently doing nothing would leave a person thinking
        # their nudges wait for it. One line naming what replaced it.
        if isinstance(data, dict):
            for key in REPLACED_BY_SCREEN_RULES:
                if key in data:
                    raise PydanticCustomError(
                        "replaced_key",
                        "gone: the witness reads each CLI's screen by its screen rules "
                        "(engine/polecats/screens/); remove {key}",
                        {"key": key},
                    )
        return data

    argv: list[str] = Field(
        min_length=1,
        description="the command; {prompt} = the prompt text, {prompt_file} = its path",
    )
    prompt: str = Field("custom", description="how the prompt reaches it (shown only)")
    autonomy: str = Field("", description="what lets it work unattended (shown only)")
    ready_delay: float = Field(
        1.0, ge=0, description="seconds after the start before anything is typed into it"
    )
    env: list[str] = Field(
        default_factory=list, description="variables passed through from the engine (API keys)"
    )
    set_env: dict[str, str] = Field(default_factory=dict, description="variables set to a value")
    root_env: dict[str, str] = Field(
        default_factory=dict, description="variables set only when the town runs as root"
    )
    home_env: str | None = Field(
        None, description="variable pointing the CLI at the agent's private config home"
    )
    home_layout: Literal["claude", "codex", "gemini"] | None = Field(
        None, description="the files the town writes into that home (onboarding, trust)"
    )
    login_files: list[str] = Field(
        default_factory=list,
        description="the person's login, linked into the agent's home (paths in the home)",
    )
    home_default: str | None = Field(
        None, description="the person's own config home when home_env is unset (~ allowed)"
    )
    submit_delay: float = Field(
        0.0, ge=0, le=5, description="seconds between typed text and its Enter (nudges)"
    )
    git_identity: bool = Field(
        False,
        description="its shell hides the person's git config: commits get the polecat's name",
    )
    # Set by gastown, refused in town.toml: the built-in `script` agent; a town.toml table.
    builtin: bool = False
    custom: bool = False

    @field_validator("argv")
    @classmethod
    def _command(cls, v: list[str]) -> list[str]:
        if not v[0]:
            raise ValueError("the command (argv's first element) is empty")
        return v

    @field_validator("env")
    @classmethod
    def _env_names(cls, v: list[str]) -> list[str]:
        return [_env_name(name) for name in v]

    @field_validator("home_env")
    @classmethod
    def _home_env_name(cls, v: str | None) -> str | None:
        return None if v is None else _env_name(v)

    @field_validator("login_files")
    @classmethod
    def _inside_home(cls, v: list[str]) -> list[str]:
        # linked into the agent's home: a path leaving it could plant a link anywhere
        for path in v:
            if not path or os.path.isabs(path) or ".." in path.split("/"):
                raise ValueError(f"{path!r} is not a path inside the home")
        return v

    @field_validator("set_env", "root_env", mode="before")
    @classmethod
    def _env_values(cls, v: Any) -> Any:
        # A number or boolean is set as its text (`PORT = 8080`: "8080"), as before.
        if isinstance(v, dict):
            return {k: str(x) if isinstance(x, int | float) else x for k, x in v.items()}
        return v

    @field_validator("set_env", "root_env")
    @classmethod
    def _set_env_names(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            _env_name(name)
        return v


class TownRuntime(RuntimeSpec):
    """A `[runtime.NAME]` table: a RuntimeSpec whose flags only gastown sets."""

    @field_validator("builtin", "custom")
    @classmethod
    def _set_by_gastown(cls, v: bool) -> bool:
        # Runs only when the table names the key (pydantic does not validate defaults).
        raise PydanticCustomError("set_by_gastown", "set by gastown, not in town.toml")


class RuntimeSettings(_Section):
    # [runtime.NAME] tables are custom runtimes, each validated as a RuntimeSpec (typed
    # extras); any other unknown key is a typo.
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, TownRuntime] = Field(init=False)
    default: str = "script"

    @model_validator(mode="before")
    @classmethod
    def _only_runtime_tables(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if key not in cls.model_fields and not isinstance(value, dict):
                    raise _unknown(key)
            # A table named like a preset overrides some of its keys (`[runtime.claude]`
            # with only `set_env`): the preset's command stands unless the table gives one.
            tables = [v for v in data.values() if isinstance(v, dict) and "argv" not in v]
            if not tables:
                return data  # (also: the defaults built while this module loads)
            from engine.polecats.runtimes import PRESETS  # it imports this module

            data = {
                key: {"argv": PRESETS[key].argv, **value}
                if key in PRESETS and isinstance(value, dict) and "argv" not in value
                else value
                for key, value in data.items()
            }
        return data

    @property
    def custom(self) -> dict[str, RuntimeSpec]:
        """town.toml's `[runtime.NAME]` tables, in file order."""
        return dict(self.__pydantic_extra__ or {})


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
