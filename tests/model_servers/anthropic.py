"""Anthropic Messages API (``POST /v1/messages``, streaming or not), as Claude Code calls it.

Main requests carry tools; Claude Code's side requests (titles, summaries, quota probes)
carry none and get a short text. ``/v1/messages/count_tokens`` gets a count.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tests.model_servers.base import MAIN, Reply, ScriptedModelServer, json_reply, sse_reply
from tests.model_servers.script import Fault, Turn, Usage

SIDE_TEXT = "Scripted side answer"


def _usage(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "output_tokens": usage.output_tokens,
    }


class AnthropicServer(ScriptedModelServer):
    def classify(self, method: str, path: str, body: Any) -> str:
        if method != "POST":
            return "probe"
        if path.startswith("/v1/messages/count_tokens"):
            return "count_tokens"
        if isinstance(body, dict) and body.get("tools"):
            return MAIN
        return "no_tools"

    def answered_call_ids(self, body: Any) -> list[str]:
        ids = []
        for message in body.get("messages", []):
            if message.get("role") != "user" or isinstance(message.get("content"), str):
                continue
            ids += [
                b.get("tool_use_id", "")
                for b in message["content"]
                if b.get("type") == "tool_result"
            ]
        return ids

    def _message(
        self, index: int, turn: Turn, body: Any
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        blocks: list[dict[str, Any]] = []
        if turn.text:
            blocks.append({"type": "text", "text": turn.text})
        for i, call in enumerate(turn.tool_calls):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": self.script.call_id(index, i),
                    "name": call.name,
                    "input": call.arguments,
                }
            )
        message = {
            "id": f"msg_gt_{index}_{int(time.time() * 1000)}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude-scripted"),
            "content": blocks,
            "stop_reason": "tool_use" if turn.tool_calls else "end_turn",
            "stop_sequence": None,
            "usage": _usage(turn.usage),
        }
        return message, blocks

    def _render(self, index: int, turn: Turn, body: Any) -> Reply:
        message, blocks = self._message(index, turn, body)
        if not body.get("stream"):
            return json_reply(message)
        start = dict(
            message, content=[], stop_reason=None, usage=dict(_usage(turn.usage), output_tokens=1)
        )
        events: list[tuple[str | None, Any]] = [
            ("message_start", {"type": "message_start", "message": start})
        ]
        for i, block in enumerate(blocks):
            if block["type"] == "text":
                opening: dict[str, Any] = {"type": "text", "text": ""}
                delta = {"type": "text_delta", "text": block["text"]}
            else:
                opening = dict(block, input={})
                delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            events += [
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": i, "content_block": opening},
                ),
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": i, "delta": delta},
                ),
                ("content_block_stop", {"type": "content_block_stop", "index": i}),
            ]
        events += [
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                    "usage": {"output_tokens": turn.usage.output_tokens},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return sse_reply(events)

    def turn_reply(self, index: int, turn: Turn, path: str, body: Any) -> Reply:
        return self._render(index, turn, body)

    def side_reply(self, kind: str, path: str, body: Any) -> Reply:
        if kind == "count_tokens":
            return json_reply({"input_tokens": self.side_usage.input_tokens or 1})
        if kind == "probe":
            return Reply(200, b"")
        reply = self._render(-1, Turn(text=SIDE_TEXT, usage=self.side_usage), body or {})
        return replace(reply, usage=self.side_usage)

    def fault_reply(self, fault: Fault) -> Reply:
        if fault.kind == "server_error":
            return json_reply(
                {
                    "type": "error",
                    "error": {"type": "api_error", "message": "Internal server error"},
                },
                500,
            )
        reset = time.time() + fault.retry_after_s
        headers = {
            "retry-after": str(fault.retry_after_s),
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": datetime.fromtimestamp(reset, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "anthropic-ratelimit-unified-status": "rejected",
            "anthropic-ratelimit-unified-reset": str(int(reset)),
        }
        message = (
            "This request would exceed your account's rate limit. Please try again later."
            if fault.kind == "rate_limit"
            else "You have reached your usage limit."
        )
        return json_reply(
            {"type": "error", "error": {"type": "rate_limit_error", "message": message}},
            429,
            headers,
        )
