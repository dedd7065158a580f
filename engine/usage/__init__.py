"""Token usage as each agent CLI records it itself, read from the CLI's home directory.

One reader per runtime (claude.py, codex.py, gemini.py), pure file parsing: a home path in,
one `SessionUsage` per (session, model) out. The CLI may be writing while we read, so a
line that does not parse (the unfinished last one) is skipped, never an error.

The figures are normalised to one meaning across runtimes, so they can be summed:
``input`` is the prompt tokens *not* read from a cache, ``cache_read`` the cached ones,
``cache_write`` the tokens written to a cache (Anthropic only), ``output`` everything the
model generated (reasoning and thoughts included).

Each session also carries when it started, by the CLI's own clock (its transcript's earliest
timestamp): that, not the moment the engine happened to read it, says which of the agent's
assignments the session worked (engine/usage/attribution.py).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.timeutil import parse_iso

RUNTIMES = ("claude", "codex", "gemini")


@dataclass(frozen=True)
class SessionUsage:
    runtime: str
    session: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    # epoch seconds; None when the transcript shows no time. Keyword only: never a figure.
    started: float | None = field(default=None, kw_only=True)

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )


def json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file; a line that is not one (a partial last line the
    CLI is still writing, a file that vanished) is skipped."""
    try:
        data = path.read_bytes()
    except OSError:
        return
    for line in data.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            yield obj


def number(value: Any) -> int:
    """A token count from a transcript: anything but a non-negative int counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def earliest(stamps: Iterable[Any]) -> float | None:
    """The earliest of a transcript's ISO-8601 timestamps, in epoch seconds (None when
    there is none). One CLI writes one format, so they compare as strings; parsed once."""
    texts = [t for t in stamps if isinstance(t, str) and t]
    if not texts:
        return None
    try:
        return parse_iso(min(texts))
    except ValueError:
        return None


def reader(runtime: str) -> ModuleType | None:
    """The module that reads a runtime's transcripts (`transcripts(home)`, `read(paths)`);
    None for a runtime with no reader (the script agent, a custom command)."""
    if runtime not in RUNTIMES:
        return None
    return importlib.import_module(f"engine.usage.{runtime}")


def read_home(runtime: str, home: Path) -> list[SessionUsage]:
    """Every session's usage the runtime recorded under `home`: its CLAUDE_CONFIG_DIR,
    CODEX_HOME or, for Gemini CLI, the HOME holding ``.gemini``."""
    module = reader(runtime)
    return module.read(module.transcripts(home)) if module else []


class UsageReader:
    """`read_home` that reads a home again only when one of its transcripts changed (a
    stat per file, not a parse), for the engine's every-tick collection."""

    def __init__(self) -> None:
        self._seen: dict[
            tuple[str, Path], tuple[tuple[tuple[str, int, int], ...], list[SessionUsage]]
        ] = {}

    def read(self, runtime: str, home: str | Path) -> list[SessionUsage]:
        home = Path(home)
        module = reader(runtime)
        if module is None:
            return []
        paths = module.transcripts(home)
        signature = []
        for path in paths:
            try:
                st = path.stat()
            except OSError:
                continue
            signature.append((str(path), st.st_mtime_ns, st.st_size))
        key = (runtime, home)
        cached = self._seen.get(key)
        if cached and cached[0] == tuple(signature):
            return cached[1]
        found: list[SessionUsage] = module.read(paths)
        self._seen[key] = (tuple(signature), found)
        return found
