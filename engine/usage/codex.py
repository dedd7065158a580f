"""Codex (checked against 0.171.0): one rollout per session under
``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<session id>.jsonl``. ``event_msg`` lines
of type ``token_count`` carry ``info.total_token_usage``, the session's running total, so
the last one is the session's usage; ``turn_context`` lines name the model. The Responses
API counts cached tokens inside ``input_tokens`` and reasoning inside ``output_tokens``.
Every line carries a ``timestamp``; ``session_meta``'s payload has the session's own, a little
earlier than its line's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.usage import SessionUsage, earliest, json_lines, number


def transcripts(codex_home: Path) -> list[Path]:
    return sorted((codex_home / "sessions").glob("**/rollout-*.jsonl"))


def read(paths: list[Path]) -> list[SessionUsage]:
    out = []
    for path in paths:
        session, model, total = path.stem, "", None
        stamps: list[Any] = []
        for line in json_lines(path):
            stamps.append(line.get("timestamp"))
            payload: Any = line.get("payload")
            if not isinstance(payload, dict):
                continue
            if line.get("type") == "session_meta":
                stamps.append(payload.get("timestamp"))
                session = str(payload.get("id") or session)
            elif line.get("type") == "turn_context" and payload.get("model"):
                model = str(payload["model"])
            elif payload.get("type") == "token_count":
                info = payload.get("info")
                if isinstance(info, dict) and isinstance(info.get("total_token_usage"), dict):
                    total = info["total_token_usage"]
        if total is None:
            continue  # no model answer yet
        prompt = number(total.get("input_tokens"))
        cached = min(number(total.get("cached_input_tokens")), prompt)
        out.append(
            SessionUsage(
                "codex",
                session,
                model,
                input_tokens=prompt - cached,
                output_tokens=number(total.get("output_tokens")),
                cache_read_tokens=cached,
                cache_write_tokens=number(total.get("cache_write_input_tokens")),
                started=earliest(stamps),
            )
        )
    return out
