"""Runtime specs are typed: every preset is a RuntimeSpec, every `[runtime.NAME]` table in
town.toml is validated as one when the file is loaded (a bad one is a one-line error naming
the file, the line and the key), and `gt`'s agent hot path still never imports pydantic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import load_config
from engine.errors import GtError
from engine.polecats import runtimes
from engine.runtime_specs import RuntimeSpec
from engine.town import init_town
from tests.cli_support import assert_one_line_error, gt_env, hooked_agent, run_gt
from tests.conftest import add_rig
from tests.test_config_strict import assert_refused_at

# text of town.toml, the line the error must name, words it must contain
BAD_TABLES = {
    "no-argv": ("[runtime]\ndefault = 'x'\n\n[runtime.mine]\nenv = []\n", 4, "runtime.mine.argv"),
    "empty-argv": ("[runtime.mine]\nargv = []\n", 2, "runtime.mine.argv"),
    "argv-a-string": ("[runtime.mine]\n# the command\nargv = 'my-agent'\n", 3, "argv"),
    "argv-not-strings": ("[runtime.mine]\nargv = ['a', 1]\n", 2, "runtime.mine.argv"),
    "empty-command": ("[runtime.mine]\nargv = ['', '{prompt}']\n", 2, "runtime.mine.argv"),
    "unknown-key": ("[runtime.mine]\nargv = ['a']\ncommand = ['a']\n", 3, "'command'"),
    "typo-in-preset-override": ("[runtime.claude]\nargv = ['claude']\nbusy = 'x'\n", 3, "busy"),
    "env-not-a-name": ("[runtime.mine]\nargv = ['a']\nenv = ['MY-KEY']\n", 3, "MY-KEY"),
    "set-env-not-a-name": ("[runtime.mine]\nargv = ['a']\nset_env = {'1X' = 'y'}\n", 3, "1X"),
    "set-env-a-table": ("[runtime.mine]\nargv = ['a']\nset_env = {X = {y = 1}}\n", 3, "set_env"),
    "negative-delay": ("[runtime.mine]\nargv = ['a']\nready_delay = -1\n", 3, "ready_delay"),
    "submit-delay-not-a-number": (
        "[runtime.mine]\nargv = ['a']\nsubmit_delay = 'x'\n",
        3,
        "submit_delay",
    ),
    "builtin-is-ours": ("[runtime.mine]\nargv = ['a']\nbuiltin = true\n", 3, "builtin"),
    "custom-is-ours": ("[runtime.mine]\nargv = ['a']\ncustom = false\n", 3, "custom"),
    "inline-table": ("[runtime]\ndefault = 'x'\nmine = {argv = ['a'], cmd = 'b'}\n", 3, "cmd"),
}


@pytest.mark.parametrize("name", sorted(runtimes.PRESETS))
def test_every_preset_is_a_valid_runtime_spec(name: str) -> None:
    preset = runtimes.PRESETS[name]
    assert type(preset) is RuntimeSpec
    # Re-validated from plain data (as a town.toml table would be): nothing lost or bent.
    assert RuntimeSpec.model_validate(preset.model_dump()) == preset
    assert preset.argv and preset.argv[0] and not preset.custom


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_a_bad_runtime_table_is_one_line_naming_key_and_line(tmp_path: Path, case: str) -> None:
    assert_refused_at(tmp_path, *BAD_TABLES[case])


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("[runtime.mine]\nargv = ['a']\nbusy_hint = 'esc to interrupt'\n", "busy_hint"),
        ("[runtime.claude]\n# ours\nidle_hint = '>'\n", "idle_hint"),
        ("[runtime.mine]\nargv = ['a']\ndialogs = ['Trust?']\n", "dialogs"),
    ],
)
def test_keys_the_screen_rules_replaced_are_refused_naming_them(
    tmp_path: Path, table: str, key: str
) -> None:
    # The demanding user's choice: a hint that silently did nothing would leave them
    # believing nudges wait for it; one line says what replaced it and what to do.
    assert_refused_at(tmp_path, table, 3, key)
    with pytest.raises(GtError, match=rf"screen rules \(engine/polecats/screens/\); remove {key}"):
        load_config(str(tmp_path / "town.toml"))


def test_gt_refuses_a_bad_runtime_table_before_anything_runs(tmp_path: Path) -> None:
    town = init_town(str(tmp_path / "town"))
    Path(town.config_path).write_text("[runtime.mine]\nargv = ['a']\nenv = 'KEY'\n")
    proc = run_gt("runtime", "list", town=town)
    assert_one_line_error(proc, 1, "town.toml:3:", "runtime.mine.env")


def test_tables_are_typed_specs_and_override_only_what_they_write(tmp_path: Path) -> None:
    path = tmp_path / "town.toml"
    path.write_text(
        "[runtime]\ndefault = 'mine'\n"
        "[runtime.mine]\nargv = ['my-agent', '{prompt_file}']\nset_env = {PORT = 8080}\n"
        "[runtime.claude]\nargv = ['claude', '--model', 'opus', '{prompt}']\n",
        encoding="utf-8",
    )
    custom = load_config(str(path)).runtime.custom
    assert list(custom) == ["mine", "claude"]
    known = runtimes.all_runtimes(custom)
    mine = known["mine"]
    # the defaults a table gets, as before: shown by `gt runtime list`
    assert (mine.prompt, mine.autonomy, mine.ready_delay, mine.env) == ("custom", "", 1.0, [])
    assert mine.custom and mine.set_env == {"PORT": "8080"}
    claude = known["claude"]
    assert claude.argv == ["claude", "--model", "opus", "{prompt}"] and claude.custom
    preset = runtimes.PRESETS["claude"]
    assert claude.model_dump(exclude={"argv", "custom"}) == preset.model_dump(
        exclude={"argv", "custom"}
    )
    assert not preset.custom and preset.argv[1] == "--dangerously-skip-permissions"
    env = runtimes.agent_env(mine, {"GT_AGENT": "Toast"})
    assert env["PORT"] == "8080" and env["GT_AGENT"] == "Toast"


def test_runtime_list_json_rows_keep_their_shape_and_order(tmp_path: Path) -> None:
    town = init_town(str(tmp_path / "town"))
    Path(town.config_path).write_text(
        "[runtime]\ndefault = 'zed'\n[runtime.zed]\nargv = ['zed-agent']\nenv = ['ZED_KEY']\n"
    )
    proc = run_gt("runtime", "list", "--json", town=town)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["name"] for r in rows] == sorted({*runtimes.PRESETS, "zed"})
    zed = '{"name": "zed", "argv": ["zed-agent"], "prompt": "custom", "autonomy": "", '
    zed += '"ready_delay": 1.0, "env": ["ZED_KEY"], "set_env": [], "home_env": null, '
    zed += '"custom": true, "default": true}'
    assert proc.stdout.rstrip().endswith(zed + "]")
    claude = next(r for r in rows if r["name"] == "claude")
    assert list(claude) == [
        "name",
        "argv",
        "prompt",
        "autonomy",
        "ready_delay",
        "env",
        "set_env",
        "home_env",
        "custom",
        "default",
    ]
    assert claude["ready_delay"] == 3.0 and claude["custom"] is False
    assert claude["home_env"] == "CLAUDE_CONFIG_DIR"
    assert "DISABLE_TELEMETRY" in claude["set_env"]


def test_the_agent_hot_path_imports_neither_pydantic_nor_the_config(
    tmp_path: Path, town, ledger
) -> None:
    # pydantic costs ~50 ms to import; runtime specs and town.toml are the engine's business.
    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked_agent(ledger)
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {k: v for k, v in gt_env().items() if not k.startswith("GIT_")}

    def git(*args: str, cwd: Path = repo) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=cwd,
            check=True,
            capture_output=True,
            env=env,
        )

    (repo / "f").write_text("x")
    git("init", "-q", "-b", "main")
    git("add", "f")
    git("commit", "-qm", "c")
    worktree = tmp_path / "wt"
    git("worktree", "add", "-qb", f"polecat/Toast/{bead}", str(worktree))
    (worktree / "g").write_text("y")
    git("add", "g", cwd=worktree)
    git("commit", "-qm", "d", cwd=worktree)
    env.update(
        GT_TOWN=town.root,
        GT_AGENT_ID=agent,
        GT_BEAD=bead,
        GT_ATTEMPT=str(attempt),
        GT_WORKTREE=str(worktree),
    )
    for args in (["prime"], ["mail", "check"], ["bead", "show", bead], ["done"]):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "engine.cli.main", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=os.fspath(worktree),
        )
        assert proc.returncode == 0, (args, proc.stderr[-500:])
        loaded = {
            line.rsplit("|", 1)[-1].strip()
            for line in proc.stderr.splitlines()
            if line.startswith("import time:")
        }
        assert "engine.cli" in loaded  # importtime did report
        heavy = sorted(
            m
            for m in loaded
            if m.split(".")[0] in ("pydantic", "pydantic_core")
            or m in ("engine.config", "engine.polecats.runtimes")
        )
        assert heavy == [], (args, heavy)
