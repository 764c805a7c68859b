"""Wire shapes of Anthropic's Messages API, as far as onegate reads or writes them.

Reference: https://docs.anthropic.com/en/api/messages and /en/docs/build-with-claude/streaming.
Clients send more than this (Claude Code: `context_management`, `output_config`, beta fields); a
pass-through forwards all of it untouched, so only what translation reads is declared here.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


# The request schema checked at decode (dialects/schema.py): the fields the estimate and the translation
# read, typed loosely enough for every block type at once (msgspec cannot tell TypedDicts apart by `type`).
# Undeclared fields (`cache_control`, `citations`, betas) pass through as sent.
class SourceParam(TypedDict, total=False):
    type: str
    media_type: str | None
    data: str | None
    url: str | None


class InnerBlockParam(TypedDict, total=False):
    """A block inside a tool result or the system prompt: text, image, document, search result …"""

    type: str
    text: str
    source: SourceParam | str | None  # a search_result block's source is its URL


class BlockParam(TypedDict, total=False):
    type: str
    text: str
    source: SourceParam | str | None
    id: str
    name: str
    input: Any
    tool_use_id: str
    content: str | list[InnerBlockParam] | dict[str, Any] | None  # an object: a server tool's error result
    thinking: str
    signature: str | None
    data: str


class MessageParam(TypedDict):
    role: str  # "user", "assistant"; "system" inside messages: Claude Code's mid-conversation beta
    content: str | list[BlockParam]


class ToolParam(TypedDict):
    name: NotRequired[str]
    type: NotRequired[str | None]  # absent or "custom" for a client tool; "web_search_20250305" … for server tools
    description: NotRequired[str | None]
    input_schema: NotRequired[dict[str, Any] | None]


class ToolChoiceInput(TypedDict, total=False):
    type: str
    name: str | None
    disable_parallel_tool_use: bool | None


class ThinkingParam(TypedDict, total=False):
    type: str  # "enabled", "disabled", "adaptive"
    budget_tokens: int | None


class MessagesRequest(TypedDict):
    model: str
    messages: list[MessageParam]
    max_tokens: NotRequired[int | None]
    system: NotRequired[str | list[InnerBlockParam] | None]
    tools: NotRequired[list[ToolParam] | None]
    tool_choice: NotRequired[ToolChoiceInput | None]
    thinking: NotRequired[ThinkingParam | None]
    output_config: NotRequired[dict[str, Any] | None]  # {"effort": "high", "format": {"type": "json_schema", …}}
    metadata: NotRequired[dict[str, Any] | None]  # {"user_id": str}
    stop_sequences: NotRequired[list[str] | None]
    temperature: NotRequired[float | None]
    top_p: NotRequired[float | None]
    top_k: NotRequired[int | None]
    stream: NotRequired[bool | None]


class WireUsage(TypedDict):
    input_tokens: int  # prompt tokens NOT read from or written to the cache
    output_tokens: int
    cache_creation_input_tokens: NotRequired[int | None]
    cache_read_input_tokens: NotRequired[int | None]
