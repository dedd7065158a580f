"""town.toml is strict: an unknown table or key, or a value of the wrong type, is a one-line
error naming the key and its line, from `gt` and from the engine alike, before anything runs.
"""

from __future__ import annotations

import subprocess
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from engine.config import TownConfig, load_config
from engine.errors import GtError
from engine.town import Town, init_town
from tests.cli_support import assert_one_line_error, gastown_argv, gt_env, run_gt

# text of town.toml, the line the error must name, words it must contain
BAD_CONFIGS = {
    "misspelt-table": ("[town]\nname = 'x'\n\n[schedular]\nmax_polecats = 1\n", 4, "schedular"),
    "unknown-top-level-key": ("max_polecats = 1\n[scheduler]\n", 1, "max_polecats"),
    "unknown-key-in-scheduler": (
        "[scheduler]\nmax_polecats = 2\n  max_polcats = 1\n",
        3,
        "max_polcats",
    ),
    "unknown-key-in-rig": (
        "[scheduler]\nmax_polecats = 2\n\n[rigs.web]\nmax_polecats = 1\nonconflict = 'x'\n",
        6,
        "onconflict",
    ),
    "wrong-type": ("[scheduler]\n# how many\nmax_polecats = 'ten'\n", 3, "scheduler.max_polecats"),
    "wrong-type-in-rig": ("[rigs.web]\ngates = 'make test'\n", 2, "rigs.web.gates"),
    "unknown-non-table-in-runtime": (
        "[runtime]\ndefault = 'script'\ndefualt = 'claude'\n",
        3,
        "defualt",
    ),
    "keys-not-a-table": ("keys = 'S'\n", 1, "keys"),
}


@pytest.fixture
def town(tmp_path: Path) -> Town:
    return init_town(str(tmp_path / "town"))


def write_config(town: Town, text: str) -> None:
    Path(town.config_path).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_bad_town_toml_is_one_line_naming_key_and_line(tmp_path: Path, case: str) -> None:
    assert_refused_at(tmp_path, *BAD_CONFIGS[case])


def assert_refused_at(tmp_path: Path, text: str, line: int, key: str) -> None:
    """town.toml with TEXT is refused in one line naming the file, LINE and KEY."""
    path = tmp_path / "town.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GtError) as err:
        load_config(str(path))
    assert "\n" not in err.value.message
    assert err.value.message.startswith(f"{path}:{line}: "), err.value.message
    assert key in err.value.message


@pytest.mark.parametrize(
    "case", ["misspelt-table", "unknown-key-in-scheduler", "unknown-key-in-rig", "wrong-type"]
)
def test_gt_status_refuses_a_bad_town_toml(town: Town, case: str) -> None:
    text, line, key = BAD_CONFIGS[case]
    write_config(town, text)
    proc = run_gt("status", town=town)
    assert_one_line_error(proc, 1, f"town.toml:{line}:", key)


@pytest.mark.parametrize(
    "case", ["misspelt-table", "unknown-key-in-scheduler", "unknown-key-in-rig", "wrong-type"]
)
def test_the_headless_engine_refuses_a_bad_town_toml(town: Town, case: str) -> None:
    text, line, key = BAD_CONFIGS[case]
    write_config(town, text)
    cmd = gastown_argv()
    proc = subprocess.run(
        [*cmd, "--engine-only", "--town", town.root],
        capture_output=True,
        text=True,
        env=gt_env({"SHELL": "/bin/sh"}),
        timeout=60,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if "error" in ln.lower()]
    assert len(errors) == 1, proc.stderr
    assert f"town.toml:{line}:" in errors[0] and key in errors[0], errors


def test_custom_runtimes_and_key_remaps_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "town.toml"
    path.write_text(
        "[runtime]\ndefault = 'mine'\n[runtime.mine]\nargv = ['echo']\n"
        "[keys]\nsling = 'S'\n[rigs.web]\nmax_polecats = 2\n",
        encoding="utf-8",
    )
    cfg = load_config(str(path))
    assert cfg.runtime.default == "mine"
    assert cfg.runtime.custom["mine"].argv == ["echo"]
    assert (cfg.model_extra or {})["keys"] == {"sling": "S"}
    assert cfg.rig("web").max_polecats == 2


def every_table(model: type[BaseModel], path: tuple[str, ...] = ()) -> Iterator[TableCase]:
    """Each table town.toml may hold, found by walking TownConfig's models (a section added
    later is covered without editing this test): its dotted path and a minimal body."""
    yield TableCase(path, [f"{name} = {toml_sample(f.annotation)}" for name, f in required(model)])
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from every_table(ann, (*path, name))
        elif typing.get_origin(ann) is dict and is_model(value := typing.get_args(ann)[1]):
            yield from every_table(value, (*path, name, "x"))
    # a table of named tables kept as typed extras ([runtime.NAME])
    extra = typing.get_type_hints(model).get("__pydantic_extra__")
    if extra is not None and is_model(value := typing.get_args(extra)[1]):
        yield from every_table(value, (*path, "x"))


class TableCase(typing.NamedTuple):
    path: tuple[str, ...]
    body: list[str]  # the keys the table cannot do without


def is_model(tp: object) -> typing.TypeGuard[type[BaseModel]]:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def required(model: type[BaseModel]) -> list[tuple[str, typing.Any]]:
    return [(name, f) for name, f in model.model_fields.items() if f.is_required()]


def toml_sample(ann: typing.Any) -> str:
    """A valid TOML value for a required key: a number, a word, a list of one."""
    if typing.get_origin(ann) is list:
        return f"[{toml_sample(typing.get_args(ann)[0])}]"
    if typing.get_origin(ann) is typing.Literal:
        return repr(typing.get_args(ann)[0])
    return {float: "1.0", int: "1", str: "'x'"}[ann]


TABLES = {".".join(case.path) or "(top level)": case for case in every_table(TownConfig)}


def test_the_walk_finds_every_kind_of_table() -> None:
    assert {
        "(top level)",
        "scheduler",
        "runtime",
        "runtime.x",
        "rigs.x",
        "budget.convoys.x",
        "escalation.high",
        "deacon",
        "prices.x",
    } <= set(TABLES)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_refuses_an_unknown_key(tmp_path: Path, table: str) -> None:
    path, body = TABLES[table]
    lines = ([f"[{'.'.join(path)}]"] if path else []) + body + ["bogus_key = 1"]
    assert_refused_at(tmp_path, "\n".join(lines) + "\n", len(lines), "bogus_key")


def test_an_empty_or_missing_town_toml_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "town.toml"
    assert load_config(str(path)).scheduler.max_polecats == 10
    path.write_text("", encoding="utf-8")
    assert load_config(str(path)).scheduler.max_polecats == 10
