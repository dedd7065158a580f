"""Gemini CLI (checked against 0.61.0): one JSONL chat per session under
``~/.gemini/tmp/<project>/chats/session-<time>-<id>.jsonl``. The first line names the
session; each model message (``"type": "gemini"``) carries ``tokens`` (``input`` is the
prompt with its cached part inside, ``cached``, ``output``, ``thoughts``) and ``model``,
and is written again under the same ``id`` when it gains tool calls (the last line wins);
``$set`` lines update the header, and may carry a whole ``messages`` list. The model
router's side calls (a flash-lite model) are not recorded anywhere in the home: Gemini
CLI's own ``--output-format json`` stats are the only place they show. The header's
``startTime`` is the session's start (each message has its own ``timestamp`` too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.usage import SessionUsage, earliest, json_lines, number


def gemini_dir(home: Path) -> Path:
    """The CLI's folder: ``<HOME>/.gemini``, or `home` itself when handed that folder."""
    nested = home / ".gemini"
    return nested if nested.is_dir() else home


def transcripts(home: Path) -> list[Path]:
    return sorted(gemini_dir(home).glob("tmp/*/chats/*.jsonl"))


def read(paths: list[Path]) -> list[SessionUsage]:
    out = []
    for path in paths:
        session = path.stem
        messages: dict[str, dict[str, Any]] = {}
        stamps: list[Any] = []
        for line in json_lines(path):
            if "sessionId" in line and "type" not in line:
                session = str(line["sessionId"])
            update = line.get("$set")
            header = update if isinstance(update, dict) else line
            stamps.append(header.get("startTime"))
            records = update.get("messages") if isinstance(update, dict) else [line]
            for record in records if isinstance(records, list) else []:
                if isinstance(record, dict):
                    stamps.append(record.get("timestamp"))
                if isinstance(record, dict) and record.get("type") == "gemini":
                    messages[str(record.get("id"))] = record
        totals: dict[str, list[int]] = {}
        for record in messages.values():
            tokens = record.get("tokens")
            if not isinstance(tokens, dict):
                continue
            prompt = number(tokens.get("input"))
            cached = min(number(tokens.get("cached")), prompt)
            figures = totals.setdefault(str(record.get("model") or ""), [0, 0, 0, 0])
            figures[0] += prompt - cached
            figures[1] += number(tokens.get("output")) + number(tokens.get("thoughts"))
            figures[2] += cached
        started = earliest(stamps)
        out += [
            SessionUsage("gemini", session, m, *figures, started=started)
            for m, figures in totals.items()
        ]
    return out
