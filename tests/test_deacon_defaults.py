"""The town.toml `gt init` writes: it parses, and every value it shows — its live settings
and its commented [deacon] and [escalation] sections alike — is the models' default, so
the file never documents a default the engine does not use."""

from __future__ import annotations

import re
import tomllib

from engine.config import TownConfig
from engine.town import DEFAULT_TOWN_TOML, init_town

# a commented-out table header or `key = value` line (prose comments stay comments)
COMMENTED_SETTING = re.compile(r"^# (\[[a-z_.]+\]|[a-z_]+ = .*)$", re.MULTILINE)


def uncommented(text: str) -> str:
    return COMMENTED_SETTING.sub(r"\1", text)


def shown(table: dict, defaults: dict, where: str = "") -> list[str]:
    """Each value of TABLE that differs from DEFAULTS, as `where.key`."""
    out = []
    for key, value in table.items():
        default = defaults[key]
        if isinstance(value, dict):
            out += shown(value, default, f"{where}{key}.")
        elif value != default:
            out.append(f"{where}{key} = {value!r} (default {default!r})")
    return out


def test_the_default_town_toml_parses_and_shows_the_defaults(tmp_path):
    town = init_town(str(tmp_path / "t"))
    with open(town.config_path, "rb") as fh:
        as_written = tomllib.load(fh)
    assert "deacon" not in as_written and "escalation" not in as_written  # commented out
    assert town.config().deacon == TownConfig().deacon

    text = uncommented(DEFAULT_TOWN_TOML.format(name="t"))
    data = tomllib.loads(text)
    assert {"deacon", "escalation"} <= data.keys()
    config = TownConfig.model_validate(data)  # what it shows is valid, every key known
    defaults = TownConfig().model_dump()
    del data["town"]  # the name is the town's own
    assert shown(data, defaults) == []
    # every [deacon] setting is shown, every severity's route
    assert set(data["deacon"]) == set(defaults["deacon"])
    assert set(data["escalation"]) == set(defaults["escalation"])
    assert config.escalation == TownConfig().escalation


def test_a_changed_commented_value_is_noticed():
    """The check above can fail: a default shown wrongly is named."""
    text = uncommented(DEFAULT_TOWN_TOML.format(name="t")).replace(
        "hook_gone_seconds = 600", "hook_gone_seconds = 60"
    )
    data = tomllib.loads(text)
    del data["town"]
    assert shown(data, TownConfig().model_dump()) == [
        "deacon.hook_gone_seconds = 60 (default 600.0)"
    ]
