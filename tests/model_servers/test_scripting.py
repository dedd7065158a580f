"""The scripted servers on their own (no CLI, no npm): the turn comes from the conversation,
side requests leave the script where it is, faults speak each API's dialect."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

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

SCRIPT = [
    Turn("one", (ToolCall("Bash", {"command": "ls"}),), Usage(10, 1)),
    Turn("two", (ToolCall("Bash", {"command": "pwd"}),), Usage(20, 2)),
    Turn("done", usage=Usage(30, 3)),
]


def post(
    url: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"content-type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def anthropic_body(*results: str, tools: bool = True) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "fix it"}]
    for call_id in results:
        messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": call_id}]})
        messages.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call_id, "content": "ok"}],
            }
        )
    return {
        "model": "m",
        "stream": True,
        "messages": messages,
        "tools": [{"name": "Bash"}] if tools else [],
    }


def test_the_turn_follows_the_newest_answered_call_and_side_requests_do_not_move_it() -> None:
    with AnthropicServer(Script(list(SCRIPT)), side_usage=Usage(5, 1)) as server:
        url = f"{server.url}/v1/messages"
        first = post(url, anthropic_body(), {"authorization": "Bearer secret"})
        side = post(url, anthropic_body(tools=False))
        again = post(url, anthropic_body())  # a retry of the same conversation replays turn 0
        second = post(url, anthropic_body("gt_0_0"))
        last = post(url, anthropic_body("gt_0_0", "gt_1_0"))
    assert '"id": "gt_0_0"' in first[2] and '"id": "gt_0_0"' in again[2]
    assert '"id": "gt_1_0"' in second[2]
    assert "Scripted side answer" in side[2] and "done" in last[2]
    assert [(r.kind, r.turn) for r in server.requests] == [
        ("main", 0),
        ("no_tools", None),
        ("main", 0),
        ("main", 1),
        ("main", 2),
    ]
    assert server.usage_returned("main") == Usage(70, 7)
    assert server.usage_returned() == Usage(75, 8)
    assert "authorization" not in server.requests[0].headers


@pytest.mark.parametrize(
    ("server_type", "path", "body_says"),
    [
        (AnthropicServer, "/v1/messages", '"type": "rate_limit_error"'),
        (OpenAIResponsesServer, "/v1/responses", '"code": "rate_limit_exceeded"'),
        (GeminiServer, "/v1beta/models/g:streamGenerateContent?alt=sse", '"RESOURCE_EXHAUSTED"'),
    ],
)
def test_a_rate_limit_answers_429_with_the_apis_body_and_a_retry_time(
    server_type: type[ScriptedModelServer], path: str, body_says: str
) -> None:
    script = Script(
        [Turn("x", (ToolCall("t", {}),), fault=Fault("rate_limit", times=1, retry_after_s=7))]
    )
    body = {"tools": [{"name": "t"}], "messages": [], "input": [], "contents": []}
    with server_type(script) as server:
        limited = post(server.url + path, body)
        then = post(server.url + path, body)
    assert (limited[0], limited[1]["retry-after"], then[0]) == (429, "7", 200)
    assert body_says in limited[2]
    assert [(r.status, r.fault is not None) for r in server.requests] == [(429, True), (200, False)]


def test_codex_usage_limit_carries_its_reset_time() -> None:
    script = Script([Turn("x", fault=Fault("usage_limit", retry_after_s=60))])
    with OpenAIResponsesServer(script) as server:
        status, _, text = post(
            f"{server.url}/v1/responses", {"tools": [{"name": "t"}], "input": []}
        )
    error = json.loads(text)["error"]
    assert (status, error["type"], error["resets_in_seconds"]) == (429, "usage_limit_reached", 60)


def test_gemini_schema_requests_get_json_that_fits_the_schema_and_keys_are_not_recorded() -> None:
    schema = {
        "type": "OBJECT",
        "properties": {
            "complexity_reasoning": {"type": "STRING"},
            "complexity_score": {"type": "INTEGER"},
        },
    }
    body = {"contents": [], "generationConfig": {"responseJsonSchema": schema}}
    with GeminiServer(Script(list(SCRIPT))) as server:
        status, _, text = post(f"{server.url}/v1beta/models/lite:generateContent?key=secret", body)
    answer = json.loads(json.loads(text)["candidates"][0]["content"]["parts"][0]["text"])
    assert (status, answer) == (200, {"complexity_reasoning": "scripted", "complexity_score": 10})
    assert server.requests[0].path == "/v1beta/models/lite:generateContent"
