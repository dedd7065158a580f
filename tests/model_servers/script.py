"""A model's script: the turns a scripted server plays, in API-neutral terms.

The server picks the turn to play from the conversation a request carries, never from a
request counter: every tool call a turn makes has an id that names the turn
(``gt_<turn>_<index>``), so "the newest tool result answers a call of turn N" means "play
turn N + 1". A request with no result of ours starts the script at turn 0. Text-only turns
end an exchange (the CLI then stops), so they are the last turn of a script.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

CALL_ID = re.compile(r"gt_(\d+)_(\d+)")

FaultKind = Literal["rate_limit", "usage_limit", "server_error"]


@dataclass(frozen=True)
class Usage:
    """Token figures a response reports, in each API's own fields.

    ``input_tokens`` goes verbatim into the API's input field (OpenAI and Gemini count cached
    tokens inside it, Anthropic does not), ``cache_read_tokens`` into its cached field and
    ``cache_write_tokens`` into Anthropic's cache-creation field (the others have none).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )


@dataclass(frozen=True)
class ToolCall:
    """One call of a CLI's tool: ``arguments`` is a JSON object, or the raw text of a
    freeform tool (Codex's ``apply_patch``)."""

    name: str
    arguments: dict[str, Any] | str


@dataclass(frozen=True)
class Fault:
    """An error answer instead of the turn: a rate limit or usage limit (429 with the API's
    body and reset headers) or a server error (500). ``times`` answers that many requests
    for the turn with the fault, then plays the turn; ``None`` never stops."""

    kind: FaultKind
    times: int | None = None
    retry_after_s: int = 30


@dataclass(frozen=True)
class Turn:
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    fault: Fault | None = None


@dataclass
class Script:
    turns: list[Turn]
    # What a main request past the end of the script gets: a short closing text.
    closing: Turn = field(default_factory=lambda: Turn(text="Done."))

    def call_id(self, turn: int, index: int) -> str:
        return f"gt_{turn}_{index}"

    def next_turn(self, answered_call_ids: Iterable[str]) -> int:
        """The turn after the newest turn whose tool calls the conversation answers."""
        turns = [int(m.group(1)) for cid in answered_call_ids if (m := CALL_ID.search(cid))]
        return max(turns) + 1 if turns else 0

    def turn(self, index: int) -> Turn:
        return self.turns[index] if index < len(self.turns) else self.closing
