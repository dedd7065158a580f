"""Claude Code (checked against 2.1.197): one JSONL transcript per session under
``$CLAUDE_CONFIG_DIR/projects/<cwd with / as ->/<session>.jsonl`` (subagents' in folders
beside it). Each assistant message carries the API's ``usage``; a message with several
content blocks is written once per block with the same ``message.id`` and the same usage,
so a message counts once (its last line wins: a line may be rewritten as it streams).
Every line carries a ``timestamp``; the first (a ``queue-operation``) is the session's start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.usage import SessionUsage, earliest, json_lines, number


def transcripts(config_dir: Path) -> list[Path]:
    return sorted((config_dir / "projects").glob("**/*.jsonl"))


def read(paths: list[Path]) -> list[SessionUsage]:
    # (session, message id) -> (model, usage); dict order keeps the first-seen order
    messages: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    stamps: dict[str, list[Any]] = {}  # session -> every line's timestamp
    for path in paths:
        for line in json_lines(path):
            stamps.setdefault(str(line.get("sessionId") or path.stem), []).append(
                line.get("timestamp")
            )
            message = line.get("message")
            if line.get("type") != "assistant" or not isinstance(message, dict):
                continue
            usage = message.get("usage")
            model = str(message.get("model") or "")
            if not isinstance(usage, dict) or model == "<synthetic>":
                continue  # <synthetic>: a message the CLI wrote itself (an API error), no tokens
            session = str(line.get("sessionId") or path.stem)
            key = str(message.get("id") or line.get("requestId") or line.get("uuid") or "")
            messages[(session, key)] = (model, usage)
    totals: dict[tuple[str, str], list[int]] = {}
    for (session, _), (model, usage) in messages.items():
        figures = totals.setdefault((session, model), [0, 0, 0, 0])
        figures[0] += number(usage.get("input_tokens"))
        figures[1] += number(usage.get("output_tokens"))
        figures[2] += number(usage.get("cache_read_input_tokens"))
        figures[3] += number(usage.get("cache_creation_input_tokens"))
    return [
        SessionUsage("claude", s, m, *figures, started=earliest(stamps.get(s, ())))
        for (s, m), figures in totals.items()
    ]
