"""Wire shapes of the OpenAI Responses API, as far as onegate reads and writes them.

Reference: https://platform.openai.com/docs/api-reference/responses (request, response object, streaming
events). Codex CLI's parser (codex-rs/codex-api/src/sse/responses.rs) switches on each event's JSON `type`,
builds its history from the item in `response.output_item.done`, and fails a turn whose stream ends without
`response.completed` (which must carry `response.id`).
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


# The request schema checked at decode (dialects/schema.py): the fields translation reads, one loose
# TypedDict per list (msgspec cannot tell TypedDicts apart by `type`); undeclared fields pass through.
class ContentPartParam(TypedDict, total=False):
    type: str
    text: str
    refusal: str


class SummaryParam(TypedDict, total=False):
    type: str
    text: str


class InputItemParam(TypedDict, total=False):
    type: str
    role: str
    content: str | list[ContentPartParam] | None
    name: str
    namespace: str | None
    call_id: str
    arguments: str | None
    output: str | list[ContentPartParam] | dict[str, Any] | None  # an object: computer_call_output
    summary: list[SummaryParam] | None
    encrypted_content: str | None


class ToolParam(TypedDict, total=False):
    type: str
    name: str | None
    description: str | None
    parameters: dict[str, Any] | None
    tools: list[InnerToolParam] | None  # a `namespace` tool's functions


class InnerToolParam(TypedDict, total=False):
    type: str
    name: str
    description: str | None
    parameters: dict[str, Any] | None


class ReasoningParam(TypedDict, total=False):
    effort: str | None
    summary: str | None


class ResponsesRequest(TypedDict):
    model: str
    input: NotRequired[str | list[InputItemParam]]
    instructions: NotRequired[str | None]
    tools: NotRequired[list[ToolParam] | None]
    tool_choice: NotRequired[str | dict[str, Any] | None]
    parallel_tool_calls: NotRequired[bool | None]
    max_output_tokens: NotRequired[int | None]
    temperature: NotRequired[float | None]
    top_p: NotRequired[float | None]
    reasoning: NotRequired[ReasoningParam | None]  # {"effort": …, "summary": "auto" | "concise" | "detailed"}
    text: NotRequired[dict[str, Any] | None]  # {"format": {"type": "text" | "json_schema" | "json_object"}, …}
    include: NotRequired[list[str] | None]  # e.g. "reasoning.encrypted_content"
    store: NotRequired[bool | None]
    stream: NotRequired[bool | None]
    user: NotRequired[str | None]
    prompt_cache_key: NotRequired[str | None]
    previous_response_id: NotRequired[str | None]


class InputTokensDetails(TypedDict, total=False):
    cached_tokens: int
    cache_write_tokens: int


class OutputTokensDetails(TypedDict, total=False):
    reasoning_tokens: int


class WireUsage(TypedDict):
    input_tokens: int  # cached ones included
    input_tokens_details: InputTokensDetails
    output_tokens: int  # reasoning ones included
    output_tokens_details: OutputTokensDetails
    total_tokens: int
