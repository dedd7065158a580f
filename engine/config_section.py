"""The base of every town.toml section: unknown keys refused (engine/config.py and
engine/runtime_specs.py build on it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def unknown_key(key: str) -> PydanticCustomError:
    """An unknown key in a section that keeps some extras (runtime tables, [keys]): the
    same error pydantic gives for the others, naming the key."""
    return PydanticCustomError("extra_forbidden", "unknown key {key}", {"key": key})
