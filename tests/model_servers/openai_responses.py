"""OpenAI Responses API (``POST /v1/responses``, streamed), as Codex calls it.

Tool calls whose arguments are a string are freeform ("custom") tools, as Codex's
``apply_patch`` is for the models it knows; the rest are function calls (``exec_command``).
Main requests carry tools; a request without tools is a side request and gets a short text
without moving the script. ``codex exec`` sends no side requests; the interactive TUI's title
request is said to carry all tools — recognise it here once it has been recorded.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from tests.model_servers.base import MAIN, Reply, ScriptedModelServer, json_reply, sse_reply
from tests.model_servers.script import Fault, Turn, Usage

SIDE_TEXT = "Scripted side answer"


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


class OpenAIResponsesServer(ScriptedModelServer):
    def classify(self, method: str, path: str, body: Any) -> str:
        if method != "POST" or not path.endswith("/responses"):
            return "other"
        if not isinstance(body, dict) or not body.get("tools"):
            return "no_tools"
        return MAIN

    def answered_call_ids(self, body: Any) -> list[str]:
        return [
            str(item.get("call_id", ""))
            for item in body.get("input", [])
            if isinstance(item, dict)
            and item.get("type") in ("function_call_output", "custom_tool_call_output")
        ]

    def _render(self, index: int, turn: Turn, body: Any) -> Reply:
        response_id = f"resp_gt_{index}_{int(time.time() * 1000)}"
        items: list[dict[str, Any]] = []
        if turn.text:
            items.append(
                {
                    "type": "message",
                    "id": f"msg_{response_id}",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": turn.text, "annotations": []}],
                }
            )
        for i, call in enumerate(turn.tool_calls):
            call_id = self.script.call_id(index, i)
            if isinstance(call.arguments, str):
                items.append(
                    {
                        "type": "custom_tool_call",
                        "id": f"ctc_{call_id}",
                        "call_id": call_id,
                        "name": call.name,
                        "input": call.arguments,
                        "status": "completed",
                    }
                )
            else:
                items.append(
                    {
                        "type": "function_call",
                        "id": f"fc_{call_id}",
                        "call_id": call_id,
                        "name": call.name,
                        "arguments": json.dumps(call.arguments),
                        "status": "completed",
                    }
                )
        response: dict[str, Any] = {
            "id": response_id,
            "object": "response",
            "created_at": int(time.time()),
            "model": body.get("model", "scripted"),
            "status": "in_progress",
            "output": [],
        }
        events: list[tuple[str | None, Any]] = [
            ("response.created", {"type": "response.created", "response": response})
        ]
        for n, item in enumerate(items):
            events.append(
                (
                    "response.output_item.added",
                    {"type": "response.output_item.added", "output_index": n, "item": item},
                )
            )
            if item["type"] == "message":
                events.append(
                    (
                        "response.output_text.delta",
                        {
                            "type": "response.output_text.delta",
                            "item_id": item["id"],
                            "output_index": n,
                            "content_index": 0,
                            "delta": turn.text,
                        },
                    )
                )
            events.append(
                (
                    "response.output_item.done",
                    {"type": "response.output_item.done", "output_index": n, "item": item},
                )
            )
        done = dict(response, status="completed", output=items, usage=_usage(turn.usage))
        events.append(("response.completed", {"type": "response.completed", "response": done}))
        return sse_reply(events)

    def turn_reply(self, index: int, turn: Turn, path: str, body: Any) -> Reply:
        return self._render(index, turn, body)

    def side_reply(self, kind: str, path: str, body: Any) -> Reply:
        if kind == "other":
            return json_reply({"object": "list", "data": []})
        reply = self._render(-1, Turn(text=SIDE_TEXT, usage=self.side_usage), body or {})
        return replace(reply, usage=self.side_usage)

    def fault_reply(self, fault: Fault) -> Reply:
        error: dict[str, Any]
        if fault.kind == "server_error":
            error = {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "param": None,
                "code": None,
            }
            return json_reply({"error": error}, 500)
        headers = {
            "retry-after": str(fault.retry_after_s),
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": f"{fault.retry_after_s}s",
        }
        if fault.kind == "rate_limit":
            error = {
                "message": "Rate limit reached for requests.",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        else:  # the usage-window answer Codex shows as "You've hit your usage limit"
            error = {
                "message": "The usage limit has been reached",
                "type": "usage_limit_reached",
                "resets_at": int(time.time()) + fault.retry_after_s,
                "resets_in_seconds": fault.retry_after_s,
            }
        return json_reply({"error": error}, 429, headers)
