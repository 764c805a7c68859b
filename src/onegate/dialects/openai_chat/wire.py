"""Wire shapes of OpenAI Chat Completions, as far as onegate reads them."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class StreamOptions(TypedDict, total=False):
    include_usage: bool


class ChatRequest(TypedDict):
    model: str
    messages: list[dict[str, Any]]
    stream: NotRequired[bool]
    stream_options: NotRequired[StreamOptions]
    tools: NotRequired[list[dict[str, Any]]]
    max_tokens: NotRequired[int]
    max_completion_tokens: NotRequired[int]


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


class ErrorBody(TypedDict):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorEnvelope(TypedDict):
    error: ErrorBody


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
