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

STUB = """#!{python}
import json, os, sys
with open({out!r}, "w") as fh:
    json.dump({{"argv": sys.argv, "env": dict(os.environ), "cwd": os.getcwd()}}, fh)
"""

EXPECTED = {
    "claude": ["claude", "--dangerously-skip-permissions", "{prompt}"],
    "codex": ["codex", "--dangerously-bypass-approvals-and-sandbox", "{prompt}"],
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
