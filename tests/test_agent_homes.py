"""Each polecat's CLI gets a private config home from the town: the files unattended work
needs, merged into what the CLI wrote itself; the person's login linked, never copied or
edited; the person's own config never touched."""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path

import pytest

from engine.polecats import agent_homes, runtimes

WORKTREE = "/town/rigs/web/polecats/Toast"


def prepare(tmp_path: Path, name: str, env: dict[str, str] | None = None) -> Path:
    person = {"HOME": str(tmp_path / "person")}
    out = agent_homes.prepare(
        runtimes.PRESETS[name],
        name,
        state_dir=str(tmp_path / "state"),
        session="web+Toast",
        worktree=WORKTREE,
        env=env or {},
        person_env=person,
    )
    home = tmp_path / "state" / "homes" / "web+Toast" / name
    assert out == {runtimes.PRESETS[name].home_env: str(home)}
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.parent.stat().st_mode) == 0o700
    return home


def person_file(tmp_path: Path, rel: str, text: str) -> Path:
    path = tmp_path / "person" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_claude_home_skips_onboarding_trusts_the_worktree_and_accepts_bypass(tmp_path):
    home = prepare(tmp_path, "claude")
    state = json.loads((home / ".claude.json").read_text())
    assert state == {
        "hasCompletedOnboarding": True,
        "projects": {WORKTREE: {"hasTrustDialogAccepted": True}},
    }
    settings = json.loads((home / "settings.json").read_text())
    assert settings == {"skipDangerousModePermissionPrompt": True}
    assert stat.S_IMODE((home / ".claude.json").stat().st_mode) == 0o600


def test_claude_home_keeps_what_the_cli_wrote_and_approves_a_passed_api_key(tmp_path):
    home = prepare(tmp_path, "claude")
    state = json.loads((home / ".claude.json").read_text())
    state["numStartups"] = 4
    state["projects"]["/elsewhere"] = {"hasTrustDialogAccepted": False}
    (home / ".claude.json").write_text(json.dumps(state))
    key = "sk-ant-0123456789abcdefghijklmnopqrstuvwxyz"
    prepare(tmp_path, "claude", {"ANTHROPIC_API_KEY": key})
    prepare(tmp_path, "claude", {"ANTHROPIC_API_KEY": key})  # once, not twice
    state = json.loads((home / ".claude.json").read_text())
    assert state["numStartups"] == 4 and "/elsewhere" in state["projects"]
    # Claude Code 2.1.197 approves a key by its last 20 characters (no "use this key?" dialog)
    assert state["customApiKeyResponses"] == {"approved": [key[-20:]]}


def test_the_persons_login_is_linked_not_copied_and_never_written(tmp_path):
    creds = person_file(tmp_path, ".claude/.credentials.json", '{"token": "t"}')
    home = prepare(tmp_path, "claude")
    link = home / ".credentials.json"
    assert link.is_symlink() and os.readlink(link) == str(creds)
    # a person logging in again is seen at once (a copy would be stale)
    creds.write_text('{"token": "new"}')
    assert json.loads(link.read_text()) == {"token": "new"}
    prepare(tmp_path, "claude")
    assert os.readlink(link) == str(creds)
    assert sorted(p.name for p in creds.parent.iterdir()) == [".credentials.json"]


def test_a_login_file_the_cli_replaced_is_the_agents_own_and_kept(tmp_path):
    person_file(tmp_path, ".codex/auth.json", "{}")
    home = prepare(tmp_path, "codex")
    (home / "auth.json").unlink()
    (home / "auth.json").write_text('{"refreshed": true}')
    prepare(tmp_path, "codex")
    assert not (home / "auth.json").is_symlink()
    assert json.loads((home / "auth.json").read_text()) == {"refreshed": True}


def test_no_login_no_link(tmp_path):
    home = prepare(tmp_path, "gemini")
    assert not (home / ".gemini" / "oauth_creds.json").exists()
    assert not (tmp_path / "person").exists()  # nothing created in the person's home


def test_codex_config_trusts_and_names_a_provider_only_with_a_base_url(tmp_path):
    home = prepare(tmp_path, "codex")
    config = tomllib.loads((home / "config.toml").read_text())
    assert config == {
        "allow_login_shell": False,
        "check_for_update_on_startup": False,
        "disable_paste_burst": True,
        "projects": {WORKTREE: {"trust_level": "trusted"}},
    }
    prepare(tmp_path, "codex", {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    config = tomllib.loads((home / "config.toml").read_text())
    assert config["model_provider"] == "gastown"
    assert config["model_providers"]["gastown"] == {
        "name": "gastown",
        "base_url": "http://127.0.0.1:9/v1",
        "env_key": "OPENAI_API_KEY",
        "wire_api": "responses",
    }


def test_codex_config_keeps_what_codex_wrote_there(tmp_path):
    home = prepare(tmp_path, "codex")
    with (home / "config.toml").open("a") as fh:
        # what Codex 0.171.0 added to its config.toml in a real run
        fh.write(
            "\n[tui]\nscreen_reader_detection_done = true\n\n[tui.model_availability_nux]\n"
            '"gpt-6.1-sol" = 1\n\n[notice.model_migrations]\n"gpt-5.5" = "gpt-6-sol"\n'
        )
    prepare(tmp_path, "codex")
    config = tomllib.loads((home / "config.toml").read_text())
    assert config["notice"] == {"model_migrations": {"gpt-5.5": "gpt-6-sol"}}
    assert config["tui"]["model_availability_nux"] == {"gpt-6.1-sol": 1}
    assert config["projects"][WORKTREE] == {"trust_level": "trusted"}


@pytest.mark.parametrize(
    ("env", "selected"),
    [
        ({"GEMINI_API_KEY": "k"}, "gemini-api-key"),
        ({"GOOGLE_GENAI_USE_VERTEXAI": "true"}, "vertex-ai"),
        ({}, "oauth-personal"),
    ],
)
def test_gemini_settings_select_the_auth_the_town_passes(tmp_path, env, selected):
    if not env:
        person_file(tmp_path, ".gemini/oauth_creds.json", "{}")
    home = prepare(tmp_path, "gemini", env)
    settings = json.loads((home / ".gemini" / "settings.json").read_text())
    assert settings["security"] == {"auth": {"selectedType": selected}}
    # and it gives up on a failing model instead of retrying for good
    assert settings["general"] == {"maxAttempts": 3}
    assert settings["ui"] == {"errorVerbosity": "full"}
    if not env:
        assert (home / ".gemini" / "oauth_creds.json").is_symlink()


def test_the_persons_own_config_variable_is_where_the_login_is_found(tmp_path):
    own = tmp_path / "own-claude"
    own.mkdir()
    (own / ".credentials.json").write_text("{}")
    agent_homes.prepare(
        runtimes.PRESETS["claude"],
        "claude",
        state_dir=str(tmp_path / "state"),
        session="web+Toast",
        worktree=WORKTREE,
        env={},
        person_env={"HOME": str(tmp_path / "person"), "CLAUDE_CONFIG_DIR": str(own)},
    )
    link = tmp_path / "state" / "homes" / "web+Toast" / "claude" / ".credentials.json"
    assert os.readlink(link) == str(own / ".credentials.json")


def test_a_runtime_without_a_home_gets_none(tmp_path):
    out = agent_homes.prepare(
        runtimes.PRESETS["aider"],
        "aider",
        state_dir=str(tmp_path / "state"),
        session="web+Toast",
        worktree=WORKTREE,
        env={},
    )
    assert out == {} and not (tmp_path / "state").exists()
