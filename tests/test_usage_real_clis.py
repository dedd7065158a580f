"""Token usage read from what each real CLI records itself (engine/usage/), checked against
the exact figures the scripted model server returned: Claude Code's transcript under
CLAUDE_CONFIG_DIR, Codex's rollout under CODEX_HOME, Gemini CLI's chat under ~/.gemini.
Versions: agents/package.json."""

from __future__ import annotations

import time
from pathlib import Path

from engine.usage import SessionUsage, read_home, reader
from tests.agent_clis import CODEX_MODEL, claude_env, codex_env, gemini_env, run_cli
from tests.model_servers import AnthropicServer, GeminiServer, OpenAIResponsesServer, Usage
from tests.test_real_cli_headless import (
    assert_fixed_and_committed,
    claude_argv,
    claude_script,
    codex_argv,
    codex_script,
    gemini_argv,
    gemini_script,
    own_config_untouched,  # noqa: F401  (autouse: no run touches this machine's config)
    usage,
)
from tests.test_real_cli_headless import repo as calc_repo

repo = calc_repo  # the failing-test repository each script fixes (a fixture)

# The script's five turns: Usage(6000, 110, 1510, 210) in all (usage(0) + ... + usage(4)).
RETURNED = Usage(6000, 110, 1510, 210)


def started_during(session: SessionUsage, before: float) -> float:
    """The session's start, read from the transcript's own first time: while the CLI ran
    (what puts a session on the bead it worked, engine/usage/attribution.py)."""
    assert session.started is not None
    assert before - 1 <= session.started <= time.time()  # the CLI's ms may round down
    return session.started


def test_claude_code_usage_is_read_from_its_transcript(repo: Path, tmp_path: Path) -> None:
    home, before = tmp_path / "home", time.time()
    with AnthropicServer(claude_script(repo), side_usage=Usage(70, 7)) as server:
        run = run_cli(claude_argv(), cwd=repo, env=claude_env(home, server.url, repo))
    assert run.returncode == 0, run.stderr
    assert_fixed_and_committed(repo)
    assert server.usage_returned("main") == RETURNED
    (session,) = read_home("claude", home / ".claude")
    # A message of text and a tool call is written twice with one id: counted once.
    started = started_during(session, before)
    assert session == SessionUsage(
        "claude", session.session, session.model, 6000, 110, 1510, 210, started=started
    )
    assert session.model.startswith("claude-")
    # Read while the CLI writes: a half-written last line is skipped, not an error.
    (path,) = reader("claude").transcripts(home / ".claude")  # type: ignore[union-attr]
    lines = path.read_bytes().splitlines(keepends=True)
    last = max(i for i, ln in enumerate(lines) if b'"msg_gt_4_' in ln)
    path.write_bytes(b"".join(lines[:last]) + lines[last][: len(lines[last]) // 2])
    (partial,) = read_home("claude", home / ".claude")
    turn4 = usage(4)
    assert (partial.input_tokens, partial.output_tokens) == (
        6000 - turn4.input_tokens,
        110 - turn4.output_tokens,
    )


def test_codex_usage_is_read_from_its_rollout(repo: Path, tmp_path: Path) -> None:
    home, before = tmp_path / "home", time.time()
    with OpenAIResponsesServer(codex_script()) as server:
        run = run_cli(codex_argv(), cwd=repo, env=codex_env(home, server.url, repo))
    assert run.returncode == 0, run.stderr
    assert_fixed_and_committed(repo)
    assert server.usage_returned("main") == RETURNED
    (session,) = read_home("codex", home / ".codex")
    # The Responses API counts cached tokens inside input: the reader takes them out.
    started = started_during(session, before)
    assert session == SessionUsage(
        "codex", session.session, CODEX_MODEL, 4490, 110, 1510, 0, started=started
    )
    assert session.session in run.stdout  # the thread id `codex exec --json` printed


def test_gemini_usage_is_read_from_its_chat_file(repo: Path, tmp_path: Path) -> None:
    home, before = tmp_path / "home", time.time()
    with GeminiServer(gemini_script(repo), side_usage=Usage(70, 7)) as server:
        run = run_cli(gemini_argv(), cwd=repo, env=gemini_env(home, server.url))
    assert run.returncode == 0, run.stderr
    assert_fixed_and_committed(repo)
    assert server.usage_returned("main") == RETURNED
    assert server.usage_returned() == RETURNED + Usage(70, 7)  # the router's side call
    # The chat file holds the main model's answers only (each written twice, counted once);
    # the router's flash-lite call is not recorded in the home.
    (session,) = read_home("gemini", home)
    started = started_during(session, before)
    assert session == SessionUsage(
        "gemini", session.session, "gemini-3.8-flash", 4490, 110, 1510, 0, started=started
    )
    assert read_home("gemini", home / ".gemini") == [session]  # handed the folder itself
