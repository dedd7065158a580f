"""Gemini API (``/v1beta/models/<model>:streamGenerateContent?alt=sse``), as Gemini CLI calls it.

Main requests stream and carry tools. Gemini CLI's side requests — the model router's
complexity classifier and the next-speaker check, both ``generateContent`` on a flash-lite
model with a JSON schema — get a JSON object built from that schema; ``countTokens`` gets a
count. None of them moves the script.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from tests.model_servers.base import MAIN, Reply, ScriptedModelServer, json_reply, sse_reply
from tests.model_servers.script import Fault, Turn, Usage

MODEL_IN_PATH = re.compile(r"/models/([^/:]+):(\w+)")
# Answers by property name, where the schema's first choice would be a poor one: a simple
# task (so the router keeps the default model) and "the user speaks next" (so the CLI stops).
SCHEMA_ANSWERS: dict[str, Any] = {
    "complexity_score": 10,
    "next_speaker": "user",
    "model_choice": "flash",
}


def _usage(usage: Usage) -> dict[str, int]:
    return {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": usage.output_tokens,
        "cachedContentTokenCount": usage.cache_read_tokens,
        "totalTokenCount": usage.input_tokens + usage.output_tokens,
    }


def value_for_schema(schema: dict[str, Any], name: str = "") -> Any:
    if name in SCHEMA_ANSWERS:
        return SCHEMA_ANSWERS[name]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "string")).lower()
    if kind == "object":
        return {
            key: value_for_schema(sub, key) for key, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return "scripted"


class GeminiServer(ScriptedModelServer):
    def classify(self, method: str, path: str, body: Any) -> str:
        match = MODEL_IN_PATH.search(path)
        verb = match.group(2) if match else ""
        if verb == "countTokens":
            return "count_tokens"
        if not isinstance(body, dict) or verb not in ("streamGenerateContent", "generateContent"):
            return "other"
        config = body.get("generationConfig") or {}
        if config.get("responseJsonSchema") or config.get("responseSchema"):
            return "schema"
        return MAIN if body.get("tools") else "no_tools"

    def answered_call_ids(self, body: Any) -> list[str]:
        return [
            str(part["functionResponse"].get("id", ""))
            for content in body.get("contents", [])
            for part in content.get("parts", [])
            if isinstance(part, dict) and "functionResponse" in part
        ]

    def _render(self, path: str, parts: list[dict[str, Any]], usage: Usage) -> Reply:
        match = MODEL_IN_PATH.search(path)
        chunk = {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": _usage(usage),
            "modelVersion": match.group(1) if match else "gemini-scripted",
        }
        if match and match.group(2) == "streamGenerateContent":
            return sse_reply([(None, chunk)])
        return json_reply(chunk)

    def turn_reply(self, index: int, turn: Turn, path: str, body: Any) -> Reply:
        parts: list[dict[str, Any]] = [{"text": turn.text}] if turn.text else []
        for i, call in enumerate(turn.tool_calls):
            parts.append(
                {
                    "functionCall": {
                        "id": self.script.call_id(index, i),
                        "name": call.name,
                        "args": call.arguments,
                    }
                }
            )
        return self._render(path, parts, turn.usage)

    def side_reply(self, kind: str, path: str, body: Any) -> Reply:
        if kind == "count_tokens":
            return json_reply({"totalTokens": self.side_usage.input_tokens or 1})
        if kind == "other":
            return json_reply(
                {"error": {"code": 404, "message": "not scripted", "status": "NOT_FOUND"}}, 404
            )
        text = "Scripted side answer"
        if kind == "schema":
            config = body.get("generationConfig") or {}
            schema: dict[str, Any] = config.get("responseJsonSchema") or config["responseSchema"]
            text = json.dumps(value_for_schema(schema))
        return replace(self._render(path, [{"text": text}], self.side_usage), usage=self.side_usage)

    def fault_reply(self, fault: Fault) -> Reply:
        if fault.kind == "server_error":
            return json_reply(
                {
                    "error": {
                        "code": 500,
                        "message": "Internal error encountered.",
                        "status": "INTERNAL",
                    }
                },
                500,
            )
        message = (
            "Resource has been exhausted (e.g. check quota)."
            if fault.kind == "rate_limit"
            else "You exceeded your current quota, please check your plan and billing details."
        )
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{fault.retry_after_s}s",
            }
        ]
        error = {
            "code": 429,
            "message": message,
            "status": "RESOURCE_EXHAUSTED",
            "details": details,
        }
        return json_reply({"error": error}, 429, {"retry-after": str(fault.retry_after_s)})
