"""The real Claude Code, Codex and Gemini CLIs, headless, each driven through a real task by a
scripted model server: read a file, fix it, run its test, commit — no network, no real key,
no config of this machine's touched. Versions: agents/package.json."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.agent_clis import (
    CODEX_MODEL,
    CliRun,
    agent_cli,
    claude_env,
    codex_env,
    gemini_env,
    pinned_version,
    run_cli,
)
from tests.model_servers import (
    AnthropicServer,
    Fault,
    GeminiServer,
    OpenAIResponsesServer,
    Script,
    ScriptedModelServer,
    ToolCall,
    Turn,
    Usage,
)

OWN_CONFIG = [Path.home() / name for name in (".claude", ".claude.json", ".codex", ".gemini")]

BROKEN = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
CHECK = 'from calc import add\n\nassert add(2, 3) == 5, "add(2, 3) should be 5"\nprint("calc ok")\n'
TEST = "python3 test_calc.py"
COMMIT = "git commit -q -am 'Fix add' && git log --oneline -1"
DONE_TEXT = "Fixed add() and committed."


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose test fails until calc.add is fixed."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Scripted Agent")
    git(path, "config", "user.email", "agent@example.invalid")
    (path / "calc.py").write_text(BROKEN)
    (path / "test_calc.py").write_text(CHECK)
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "add is broken")
    return path


@pytest.fixture(autouse=True)
def own_config_untouched() -> Iterator[None]:
    """No run writes to this machine's own CLI configuration (every run has a temp HOME)."""

    def state() -> list[tuple[str, int | None]]:
        return [(str(p), p.stat().st_mtime_ns if p.exists() else None) for p in OWN_CONFIG]

    before = state()
    yield
    assert state() == before


def usage(n: int) -> Usage:
    """Distinct figures per turn, so a total proves which answers were counted."""
    return Usage(
        input_tokens=1000 + 100 * n,
        output_tokens=20 + n,
        cache_read_tokens=300 + n,
        cache_write_tokens=40 + n,
    )


def assert_fixed_and_committed(repo: Path) -> None:
    assert (repo / "calc.py").read_text() == FIXED
    assert git(repo, "log", "-1", "--format=%s").strip() == "Fix add"
    assert git(repo, "show", "HEAD", "--format=", "--", "calc.py").count("+    return a + b") == 1
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def assert_played_the_whole_script(server: ScriptedModelServer, user_agent: str) -> None:
    """Every turn once, in order; each answer arrived with the previous tool's output (the
    test passing, the commit made); no secret recorded."""
    mains = server.main_requests()
    assert [r.turn for r in mains] == [0, 1, 2, 3, 4]
    assert all(r.status == 200 for r in server.requests)
    assert "calc ok" in json.dumps(mains[3].body)
    assert "Fix add" in json.dumps(mains[4].body)
    assert all(user_agent in r.headers.get("user-agent", "") for r in mains)
    assert not any(
        h in r.headers
        for r in server.requests
        for h in ("authorization", "x-api-key", "x-goog-api-key")
    )
    assert "scripted-" not in json.dumps([r.headers for r in server.requests]) + json.dumps(
        [r.path for r in server.requests]
    )


def claude_script(repo: Path) -> Script:
    calc = str(repo / "calc.py")
    return Script(
        [
            Turn("Let me look at calc.py.", (ToolCall("Read", {"file_path": calc}),), usage(0)),
            Turn(
                "",
                (
                    ToolCall(
                        "Edit",
                        {
                            "file_path": calc,
                            "old_string": "return a - b",
                            "new_string": "return a + b",
                        },
                    ),
                ),
                usage(1),
            ),
            Turn(
                "", (ToolCall("Bash", {"command": TEST, "description": "Run the test"}),), usage(2)
            ),
            Turn(
                "",
                (ToolCall("Bash", {"command": COMMIT, "description": "Commit the fix"}),),
                usage(3),
            ),
            Turn(DONE_TEXT, usage=usage(4)),
        ]
    )


def claude_argv(prompt: str = "Fix calc.add so test_calc.py passes, then commit.") -> list[str]:
    return [
        str(agent_cli("claude")),
        "-p",
        prompt,
        "--dangerously-skip-permissions",
        "--output-format",
        "json",
    ]


def test_claude_code_reads_fixes_tests_and_commits(repo: Path, tmp_path: Path) -> None:
    argv = claude_argv()
    with AnthropicServer(claude_script(repo)) as server:
        run = run_cli(argv, cwd=repo, env=claude_env(tmp_path / "home", server.url, repo))
    assert run.returncode == 0, run.stderr
    assert run.left_running == []
    assert_fixed_and_committed(repo)
    assert_played_the_whole_script(server, f"claude-cli/{pinned_version('claude')}")
    assert "Fix calc.add" in json.dumps(server.main_requests()[0].body["messages"])
    # No side requests but a HEAD probe of the base URL (non-essential traffic is off).
    assert [(r.method, r.path) for r in server.side_requests()] == [("HEAD", "/")]
    result = json.loads(run.stdout)
    assert (result["is_error"], result["num_turns"], result["result"]) == (False, 5, DONE_TEXT)
    returned = server.usage_returned()
    assert returned == Usage(6000, 110, 1510, 210)
    reported = {k: v for k, v in result["usage"].items() if k.endswith("_tokens")}
    assert reported == {
        "input_tokens": returned.input_tokens,
        "output_tokens": returned.output_tokens,
        "cache_read_input_tokens": returned.cache_read_tokens,
        "cache_creation_input_tokens": returned.cache_write_tokens,
    }


PATCH = (
    "*** Begin Patch\n*** Update File: calc.py\n@@\n"
    " def add(a, b):\n-    return a - b\n+    return a + b\n*** End Patch\n"
)


def codex_script() -> Script:
    return Script(
        [
            Turn(
                "Let me look at calc.py.",
                (ToolCall("exec_command", {"cmd": "cat calc.py"}),),
                usage(0),
            ),
            Turn("", (ToolCall("apply_patch", PATCH),), usage(1)),
            Turn("", (ToolCall("exec_command", {"cmd": TEST}),), usage(2)),
            Turn("", (ToolCall("exec_command", {"cmd": COMMIT}),), usage(3)),
            Turn(DONE_TEXT, usage=usage(4)),
        ]
    )


def codex_argv(prompt: str = "Fix calc.add so test_calc.py passes, then commit.") -> list[str]:
    return [
        str(agent_cli("codex")),
        "exec",
        "--json",
        "--dangerously-bypass-approvals-and-sandbox",
        prompt,
    ]


def test_codex_reads_fixes_tests_and_commits(repo: Path, tmp_path: Path) -> None:
    argv = codex_argv()
    with OpenAIResponsesServer(codex_script()) as server:
        run = run_cli(argv, cwd=repo, env=codex_env(tmp_path / "home", server.url, repo))
    assert run.returncode == 0, run.stderr
    assert run.left_running == []
    assert_fixed_and_committed(repo)
    assert_played_the_whole_script(server, f"codex_exec/{pinned_version('codex')}")
    first = server.main_requests()[0].body
    assert first["model"] == CODEX_MODEL
    assert {"exec_command", "apply_patch"} <= {tool.get("name") for tool in first["tools"]}
    assert server.side_requests() == []
    events = run.jsonl()
    said = [e["item"]["text"] for e in events if e.get("item", {}).get("type") == "agent_message"]
    assert said[-1] == DONE_TEXT
    (completed,) = [e for e in events if e["type"] == "turn.completed"]
    returned = server.usage_returned()
    assert returned == Usage(6000, 110, 1510, 210)
    # The Responses API has no cache-write figure; cached tokens count inside input.
    assert completed["usage"] == {
        "input_tokens": returned.input_tokens,
        "cached_input_tokens": returned.cache_read_tokens,
        "cache_write_input_tokens": 0,
        "output_tokens": returned.output_tokens,
        "reasoning_output_tokens": 0,
    }


def gemini_script(repo: Path) -> Script:
    calc = str(repo / "calc.py")
    return Script(
        [
            Turn(
                "Let me look at calc.py.", (ToolCall("read_file", {"file_path": calc}),), usage(0)
            ),
            Turn(
                "",
                (
                    ToolCall(
                        "replace",
                        {
                            "file_path": calc,
                            "instruction": "Make add return the sum of its arguments.",
                            "old_string": "return a - b",
                            "new_string": "return a + b",
                        },
                    ),
                ),
                usage(1),
            ),
            Turn(
                "",
                (ToolCall("run_shell_command", {"command": TEST, "description": "Run the test"}),),
                usage(2),
            ),
            Turn(
                "",
                (
                    ToolCall(
                        "run_shell_command", {"command": COMMIT, "description": "Commit the fix"}
                    ),
                ),
                usage(3),
            ),
            Turn(DONE_TEXT, usage=usage(4)),
        ]
    )


def gemini_argv(prompt: str = "Fix calc.add so test_calc.py passes, then commit.") -> list[str]:
    return [str(agent_cli("gemini")), "-p", prompt, "--yolo", "--output-format", "json"]


def test_gemini_reads_fixes_tests_and_commits(repo: Path, tmp_path: Path) -> None:
    argv = gemini_argv()
    with GeminiServer(gemini_script(repo), side_usage=Usage(70, 7)) as server:
        run = run_cli(argv, cwd=repo, env=gemini_env(tmp_path / "home", server.url))
    assert run.returncode == 0, run.stderr
    assert run.left_running == []
    assert_fixed_and_committed(repo)
    assert_played_the_whole_script(server, f"/{pinned_version('gemini')}/")
    assert all(r.path.endswith(":streamGenerateContent?alt=sse") for r in server.main_requests())
    # The model router asked a flash-lite model for a complexity score (a JSON schema) and
    # was answered without moving the script; it routed the task to a flash model.
    (router,) = server.side_requests()
    assert (router.kind, router.path) == (
        "schema",
        "/v1beta/models/gemini-3.5-flash-lite:generateContent",
    )
    assert {r.path.split(":")[0] for r in server.main_requests()} == {
        "/v1beta/models/gemini-3.8-flash"
    }
    result = json.loads(run.stdout)
    assert result["response"] == DONE_TEXT
    tokens = {model: stats["tokens"] for model, stats in result["stats"]["models"].items()}
    main = server.usage_returned("main")
    assert main == Usage(6000, 110, 1510, 210)
    assert server.usage_returned() == main + Usage(70, 7)
    # Gemini counts cached tokens inside the prompt and reports "input" as the uncached part.
    assert tokens["gemini-3.8-flash"] == {
        "input": main.input_tokens - main.cache_read_tokens,
        "prompt": main.input_tokens,
        "candidates": main.output_tokens,
        "total": main.input_tokens + main.output_tokens,
        "cached": main.cache_read_tokens,
        "thoughts": 0,
        "tool": 0,
    }
    assert (
        tokens["gemini-3.5-flash-lite"]["prompt"],
        tokens["gemini-3.5-flash-lite"]["candidates"],
    ) == (70, 7)


def one_step(call: ToolCall, fault: Fault) -> Script:
    return Script([Turn("", (call,), fault=fault), Turn(DONE_TEXT)])


def claude_result(run: CliRun) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def test_claude_code_retries_a_rate_limit_then_carries_on(repo: Path, tmp_path: Path) -> None:
    script = claude_script(repo)
    script.turns[0] = replace(script.turns[0], fault=Fault("rate_limit", times=1, retry_after_s=1))
    with AnthropicServer(script) as server:
        run = run_cli(claude_argv(), cwd=repo, env=claude_env(tmp_path / "home", server.url, repo))
    assert run.returncode == 0, run.stderr
    assert run.left_running == []
    assert_fixed_and_committed(repo)
    assert [(r.turn, r.status) for r in server.main_requests()] == [
        (0, 429),
        (0, 200),
        (1, 200),
        (2, 200),
        (3, 200),
        (4, 200),
    ]


def test_claude_code_gives_up_on_a_rate_limit_after_its_retries_and_says_so(
    repo: Path, tmp_path: Path
) -> None:
    script = one_step(ToolCall("Bash", {"command": "true"}), Fault("rate_limit", retry_after_s=1))
    with AnthropicServer(script) as server:
        env = claude_env(tmp_path / "home", server.url, repo) | {"CLAUDE_CODE_MAX_RETRIES": "2"}
        run = run_cli(claude_argv(), cwd=repo, env=env)
    assert [(r.turn, r.status) for r in server.main_requests()] == [(0, 429)] * 3
    result = claude_result(run)
    assert (run.returncode, result["is_error"], result["api_error_status"]) == (1, True, 429)
    assert result["result"] == (
        "API Error: Request rejected (429) · "
        "This request would exceed your account's rate limit. Please try again later."
    )


def test_claude_code_gives_up_after_server_errors_and_says_so(repo: Path, tmp_path: Path) -> None:
    script = one_step(ToolCall("Bash", {"command": "true"}), Fault("server_error"))
    with AnthropicServer(script) as server:
        env = claude_env(tmp_path / "home", server.url, repo) | {"CLAUDE_CODE_MAX_RETRIES": "2"}
        run = run_cli(claude_argv(), cwd=repo, env=env)
    assert [(r.turn, r.status) for r in server.main_requests()] == [(0, 500)] * 3
    result = claude_result(run)
    assert (run.returncode, result["is_error"], result["api_error_status"]) == (1, True, 500)
    assert result["result"].startswith(
        "API Error: 500 Internal server error. This is a server-side issue"
    )
    assert (
        f"check your inference gateway ({server.url.removeprefix('http://')})" in result["result"]
    )


def test_codex_stops_at_a_usage_limit_and_shows_when_it_resets(repo: Path, tmp_path: Path) -> None:
    script = one_step(
        ToolCall("exec_command", {"cmd": "true"}), Fault("usage_limit", retry_after_s=3600)
    )
    with OpenAIResponsesServer(script) as server:
        run = run_cli(
            codex_argv(), cwd=repo, env=codex_env(tmp_path / "home", server.url, repo, retries=2)
        )
    # A usage limit is not retried, whatever the provider's retry settings.
    assert [(r.turn, r.status) for r in server.main_requests()] == [(0, 429)]
    (failed,) = [e for e in run.jsonl() if e["type"] == "turn.failed"]
    assert run.returncode == 1
    assert failed["error"]["message"].startswith("You’ve hit your usage limit. Try again at ")


def test_codex_gives_up_after_server_errors_and_says_so(repo: Path, tmp_path: Path) -> None:
    script = one_step(ToolCall("exec_command", {"cmd": "true"}), Fault("server_error"))
    with OpenAIResponsesServer(script) as server:
        env = codex_env(tmp_path / "home", server.url, repo, retries=1)
        run = run_cli(codex_argv(), cwd=repo, env=env)
    # Its request retries and its stream retries multiply: (1 + 1) x (1 + 1) attempts.
    assert [(r.turn, r.status) for r in server.main_requests()] == [(0, 500)] * 4
    (failed,) = [e for e in run.jsonl() if e["type"] == "turn.failed"]
    assert run.returncode == 1
    assert (
        failed["error"]["message"]
        == "We’re currently experiencing high demand, which may cause temporary errors."
    )
