"""Wire shapes of OpenAI Chat Completions, as far as onegate reads them."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

# The request schema: what translation reads, checked once at decode (dialects/schema.py). Every field not
# declared here passes through as sent; those declared are typed as loosely as the API allows.


class StreamOptions(TypedDict, total=False):
    include_usage: bool | None


class ImageURL(TypedDict):
    url: str
    detail: NotRequired[str | None]


class ContentPart(TypedDict, total=False):
    type: str
    text: str
    image_url: str | ImageURL


class FunctionCall(TypedDict):
    name: str
    arguments: NotRequired[str | None]


class ToolCall(TypedDict, total=False):
    id: str
    type: str
    function: FunctionCall | None


class ChatMessage(TypedDict, total=False):
    role: str
    content: str | list[ContentPart] | None
    tool_call_id: str | None
    tool_calls: list[ToolCall] | None


class FunctionDefinition(TypedDict):
    name: str
    description: NotRequired[str | None]
    parameters: NotRequired[dict[str, Any] | None]


class ChatTool(TypedDict, total=False):
    type: str
    name: str
    function: FunctionDefinition


class ChatRequest(TypedDict):
    model: str
    messages: list[ChatMessage]
    stream: NotRequired[bool | None]
    stream_options: NotRequired[StreamOptions | None]
    tools: NotRequired[list[ChatTool] | None]
    parallel_tool_calls: NotRequired[bool | None]
    max_tokens: NotRequired[int | None]
    max_completion_tokens: NotRequired[int | None]
    temperature: NotRequired[float | None]
    top_p: NotRequired[float | None]
    stop: NotRequired[str | list[str] | None]
    response_format: NotRequired[dict[str, Any] | None]
    user: NotRequired[str | None]


class PassthroughRequest(TypedDict):
    """Legacy Completions and Embeddings: only forwarded, so only what forwarding reads."""

    model: str
    stream: NotRequired[bool | None]
    stream_options: NotRequired[StreamOptions | None]


class PromptTokensDetails(TypedDict, total=False):
    cached_tokens: int


class CompletionTokensDetails(TypedDict, total=False):
    reasoning_tokens: int


class WireUsage(TypedDict, total=False):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails
    completion_tokens_details: CompletionTokensDetails
