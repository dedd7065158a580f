"""Runtime presets build exactly the command line we mean, with a clean environment.

A stub executable named like each real CLI stands in for it (no LLM here): it records its
argv and environment and exits, so the test reads what the session really ran.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from engine.polecats import runtimes
from engine.polecats.dispatcher import Assignment

# Written whole, then renamed: the test polls for the file and must never read half of it.
STUB = """#!{python}
import json, os, sys
with open({out!r} + ".tmp", "w") as fh:
    json.dump({{"argv": sys.argv, "env": dict(os.environ), "cwd": os.getcwd()}}, fh)
os.replace({out!r} + ".tmp", {out!r})
"""

EXPECTED = {
    "claude": ["claude", "--dangerously-skip-permissions", "{prompt}"],
    "codex": ["codex", "--no-daemon", "--dangerously-bypass-approvals-and-sandbox", "{prompt}"],
    "gemini": ["gemini", "--yolo", "--prompt-interactive", "{prompt}"],
    "opencode": ["opencode", "--prompt", "{prompt}"],
    "cursor": ["cursor-agent", "--force", "{prompt}"],
    "copilot": ["copilot", "--allow-all-tools", "--interactive", "{prompt}"],
    "amp": ["amp", "--dangerously-allow-all", "--execute", "{prompt}"],
    "aider": ["aider", "--yes-always", "--message-file", "{prompt_file}"],
}


@pytest.fixture
def stub_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for preset in EXPECTED.values():
        stub = bindir / preset[0]
        stub.write_text(STUB.format(python=sys.executable, out=str(tmp_path / f"{preset[0]}.json")))
        stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SECRET_TOKEN", "do-not-leak")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setenv("SHELL", "/bin/sh")
    # the person's login is looked up in HOME: never this machine's own
    monkeypatch.setenv("HOME", str(tmp_path / "person"))
    for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_every_preset_is_listed_with_its_command_line():
    assert set(EXPECTED) | {"script"} <= set(runtimes.PRESETS)
    for name, argv in EXPECTED.items():
        assert runtimes.PRESETS[name].argv == argv


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_session_runs_exactly_its_command_line(name, stub_path, real_town_factory):
    rt = real_town_factory()
    bead = rt.ledger.beads.create(f"use {name}", rig="web", body="do the thing")
    with rt.ledger.transaction():
        agent = rt.ledger.agents.allocate("web", "Toast", name)
        attempt = rt.ledger.agents.assign(agent, bead["id"], rig="web")
    started = rt.fleet.start(Assignment(agent["id"], "Toast", "web", bead["id"], attempt, name))
    out = stub_path / f"{EXPECTED[name][0]}.json"
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = json.loads(out.read_text())
    prompt_file = os.path.join(started.worktree, ".gastown", "PROMPT.md")
    prompt = Path(prompt_file).read_text()
    want = [
        prompt if a == "{prompt}" else prompt_file if a == "{prompt_file}" else a
        for a in EXPECTED[name]
    ]
    assert [os.path.basename(seen["argv"][0]), *seen["argv"][1:]] == want
    assert os.path.realpath(seen["cwd"]) == os.path.realpath(started.worktree)
    env = seen["env"]
    assert env["GT_AGENT"] == "Toast" and env["GT_BEAD"] == bead["id"]
    assert env["GT_ATTEMPT"] == "1" and env["GT_RIG"] == "web"
    assert env["GT_TOWN"] == rt.town.root
    assert "SECRET_TOKEN" not in env  # an allowlist, not the engine's environment
    if name == "claude":
        assert env["ANTHROPIC_API_KEY"] == "sk-test"
    else:
        assert "ANTHROPIC_API_KEY" not in env or name in ("opencode", "aider")
    spec = runtimes.PRESETS[name]
    if spec.home_env:  # the CLI's config home is the agent's own, under the town's state
        assert env[spec.home_env] == os.path.join(rt.town.state_dir, "homes", "web+Toast", name)
        assert env["HOME"] == str(stub_path / "person")  # HOME itself is left alone


PASSED = {
    "claude": {
        "ANTHROPIC_BASE_URL": "http://gateway.invalid",
        "ANTHROPIC_AUTH_TOKEN": "gw-token",
        "ANTHROPIC_MODEL": "m",
        "CLAUDE_CODE_MAX_RETRIES": "2",
        "HTTPS_PROXY": "http://proxy.invalid",
    },
    "codex": {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://gateway.invalid/v1"},
    "gemini": {
        "GEMINI_API_KEY": "k",
        "GOOGLE_GEMINI_BASE_URL": "http://gateway.invalid",
        "GOOGLE_API_KEY": "g",
    },
}
SET = {
    "claude": {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1"},
    "codex": {},
    "gemini": {"GEMINI_CLI_TRUST_WORKSPACE": "true"},
}


@pytest.mark.parametrize("name", sorted(PASSED))
def test_real_cli_presets_pass_endpoint_auth_and_behaviour_variables(name, monkeypatch):
    for key, value in PASSED[name].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("UNRELATED_SECRET", "x")
    env = runtimes.agent_env(runtimes.PRESETS[name], {"GT_AGENT": "Toast"})
    assert {k: env.get(k) for k in PASSED[name]} == PASSED[name]
    assert {k: env.get(k) for k in SET[name]} == SET[name]
    assert "UNRELATED_SECRET" not in env


def test_claude_is_told_it_runs_in_a_sandbox_only_as_root(monkeypatch):
    spec = runtimes.PRESETS["claude"]
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert runtimes.agent_env(spec, {})["IS_SANDBOX"] == "1"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "IS_SANDBOX" not in runtimes.agent_env(spec, {})


def test_gemini_commits_get_the_polecats_name_unless_the_person_gives_one(monkeypatch):
    # Gemini CLI 0.61 runs git with GIT_CONFIG_GLOBAL=/dev/null: no user.name of the person's
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key, raising=False)
    env = runtimes.agent_env(runtimes.PRESETS["gemini"], {"GT_AGENT": "Toast"})
    assert (env["GIT_AUTHOR_NAME"], env["GIT_COMMITTER_EMAIL"]) == ("Toast", "toast@gastown.local")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada")
    env = runtimes.agent_env(runtimes.PRESETS["gemini"], {"GT_AGENT": "Toast"})
    assert env["GIT_AUTHOR_NAME"] == "Ada"
    assert "GIT_AUTHOR_NAME" not in runtimes.agent_env(runtimes.PRESETS["claude"], {})


def test_a_preset_table_with_only_set_env_keeps_the_command_and_adds_its_values():
    from engine.config import TownConfig

    config = TownConfig.model_validate(
        {"runtime": {"claude": {"set_env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}}}}
    )
    spec = runtimes.resolve("claude", config.runtime.custom)
    assert spec.argv == runtimes.PRESETS["claude"].argv and spec.custom
    assert spec.set_env == {
        **runtimes.PRESETS["claude"].set_env,
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
    }


def test_custom_runtime_from_town_toml_is_used(stub_path, real_town_factory):
    rt = real_town_factory(
        {
            "runtime": {
                "default": "mine",
                "mine": {"argv": ["claude", "--model", "x", "{prompt_file}"]},
            }
        }
    )
    bead = rt.ledger.beads.create("custom", rig="web", slung=True)["id"]
    rt.reconcile()
    seen = (
        json.loads((stub_path / "claude.json").read_text())
        if (stub_path / "claude.json").exists()
        else None
    )
    deadline = time.monotonic() + 10
    while seen is None and time.monotonic() < deadline:
        time.sleep(0.05)
        if (stub_path / "claude.json").exists():
            seen = json.loads((stub_path / "claude.json").read_text())
    assert seen is not None and seen["argv"][1:3] == ["--model", "x"]
    assert seen["argv"][3].endswith("PROMPT.md")
    assert rt.ledger.beads.get(bead)["attempt"] == 1


def test_runtime_list_shows_presets_and_the_default(stub_path, real_town_factory):
    from tests.conftest import gt

    rt = real_town_factory()
    res = gt("runtime", "list", "--json", town=rt.town)
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert set(EXPECTED) <= set(rows) and rows["script"]["default"]


def start_one(rt, runtime: str):
    bead = rt.ledger.beads.create(f"use {runtime}", rig="web", body="do the thing")
    with rt.ledger.transaction():
        agent = rt.ledger.agents.allocate("web", "Toast", runtime)
        attempt = rt.ledger.agents.assign(agent, bead["id"], rig="web")
    rt.fleet.start(Assignment(agent["id"], "Toast", "web", bead["id"], attempt, runtime))
    return agent


def test_stopping_a_polecat_ends_every_process_its_session_started(real_town_factory):
    from engine.polecats import proctree

    # a child that left the session's process group and ignores the hang-up, as Gemini
    # CLI's node processes and Codex's app-server outlive a tmux kill
    daemon = "setsid sh -c 'trap \"\" HUP; exec sleep 300' & exec sleep 301"
    rt = real_town_factory(
        {"runtime": {"default": "daemonish", "daemonish": {"argv": ["sh", "-c", daemon]}}}
    )
    agent = start_one(rt, "daemonish")
    mine = {"GT_TOWN": rt.town.root, "GT_SESSION": "web+Toast"}
    try:
        deadline = time.monotonic() + 10
        while len(proctree.with_env(mine)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(proctree.with_env(mine)) == 2
        rt.fleet.stop(agent["id"])
        assert proctree.alive(proctree.with_env(mine)) == set()
        assert not rt.fleet.tmux.has_session("web+Toast")
    finally:
        proctree.terminate(proctree.with_env(mine), grace=0.1)  # even when it failed


def test_nothing_is_typed_into_a_cli_before_its_ready_delay(real_town_factory):
    from engine.polecats.dispatcher import NotYet

    rt = real_town_factory(
        {"runtime": {"slow": {"argv": ["sh", "-c", "exec cat"], "ready_delay": 30}}}
    )
    agent = start_one(rt, "slow")
    payload = {"agent_id": agent["id"], "message": "hello there"}
    with pytest.raises(NotYet, match="still starting"):
        rt.fleet._nudge(payload)
    rt.fleet._ready_at["web+Toast"] = 0.0  # as if 30 s had passed
    rt.fleet._nudge(payload)
    deadline = time.monotonic() + 5
    while "hello there" not in rt.fleet.tmux.capture("web+Toast") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "hello there" in rt.fleet.tmux.capture("web+Toast")
