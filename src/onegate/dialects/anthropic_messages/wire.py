"""Wire shapes of Anthropic's Messages API, as far as onegate reads or writes them.

Reference: https://docs.anthropic.com/en/api/messages and /en/docs/build-with-claude/streaming.
Clients send more than this (Claude Code: `context_management`, `output_config`, beta fields); a
pass-through forwards all of it untouched, so only what translation reads is declared here.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

StopReason = Literal[
    "end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"
]


class CacheControl(TypedDict):
    type: Literal["ephemeral"]
    ttl: NotRequired[str]


class TextBlock(TypedDict):
    type: Literal["text"]
    text: str
    cache_control: NotRequired[CacheControl]


class ImageSource(TypedDict):
    type: Literal["base64", "url"]
    media_type: NotRequired[str]
    data: NotRequired[str]
    url: NotRequired[str]


class ImageBlock(TypedDict):
    type: Literal["image"]
    source: ImageSource


class ToolUseBlock(TypedDict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(TypedDict):
    type: Literal["tool_result"]
    tool_use_id: str
    content: NotRequired[str | list[TextBlock | ImageBlock]]
    is_error: NotRequired[bool]


class ThinkingBlock(TypedDict):
    type: Literal["thinking"]
    thinking: str
    signature: str


class RedactedThinkingBlock(TypedDict):
    type: Literal["redacted_thinking"]
    data: str


ContentBlock = TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock


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


class MessageResponse(TypedDict):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[ContentBlock]
    stop_reason: StopReason | None
    stop_sequence: str | None
    usage: WireUsage


class TokenCount(TypedDict):
    input_tokens: int


class ModelInfo(TypedDict):
    type: Literal["model"]
    id: str
    display_name: str
    created_at: str  # RFC 3339


class ModelList(TypedDict):
    data: list[ModelInfo]
    has_more: bool
    first_id: str | None
    last_id: str | None


class ErrorBody(TypedDict):
    type: str  # authentication_error, not_found_error, overloaded_error, …
    message: str


class ErrorEnvelope(TypedDict):
    type: Literal["error"]
    error: ErrorBody
    request_id: NotRequired[str]


# Stream events: each is sent as `event: <type>\ndata: <json>\n\n`; the SDKs ignore events without a name.
StreamEventName = Literal[
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
]
