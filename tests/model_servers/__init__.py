"""Scripted model servers for driving the real agent CLIs with no network and no key:
one per API (Anthropic Messages, OpenAI Responses, Gemini), each playing a script of turns
chosen from the conversation a request carries. Loopback only, stdlib only."""

from tests.model_servers.anthropic import AnthropicServer
from tests.model_servers.base import RecordedRequest, ScriptedModelServer
from tests.model_servers.gemini import GeminiServer
from tests.model_servers.openai_responses import OpenAIResponsesServer
from tests.model_servers.script import Fault, Script, ToolCall, Turn, Usage

__all__ = [
    "AnthropicServer",
    "Fault",
    "GeminiServer",
    "OpenAIResponsesServer",
    "RecordedRequest",
    "Script",
    "ScriptedModelServer",
    "ToolCall",
    "Turn",
    "Usage",
]
