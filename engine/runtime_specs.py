"""Agent runtimes as town.toml describes them: a preset (engine/polecats/runtimes.py) or a
`[runtime.NAME]` table, and the `[runtime]` section that holds them.

Not imported on `gt`'s hot paths (pydantic); engine/config.py builds TownConfig on it.
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from engine.config_section import Section as _Section
from engine.config_section import unknown_key as _unknown

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Runtime keys the screen rules replaced (engine/polecats/screens/): refused with that said.
REPLACED_BY_SCREEN_RULES = ("busy_hint", "idle_hint", "dialogs")


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
