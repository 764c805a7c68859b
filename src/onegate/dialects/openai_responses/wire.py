"""Wire shapes of the OpenAI Responses API, as far as onegate reads and writes them.

Reference: https://platform.openai.com/docs/api-reference/responses (request, response object, streaming
events). Codex CLI's parser (codex-rs/codex-api/src/sse/responses.rs) switches on each event's JSON `type`,
builds its history from the item in `response.output_item.done`, and fails a turn whose stream ends without
`response.completed` (which must carry `response.id`).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class InputText(TypedDict):
    type: Literal["input_text", "output_text"]
    text: str


class InputImage(TypedDict):
    type: Literal["input_image"]
    image_url: NotRequired[str]  # an http(s) or data: URL
    file_id: NotRequired[str]  # only an OpenAI upstream can resolve these
    detail: NotRequired[str]


class MessageItem(TypedDict):
    type: NotRequired[Literal["message"]]
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[dict[str, Any]]


class FunctionCallItem(TypedDict):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str  # JSON text
    namespace: NotRequired[str]  # set when the tool came from a `namespace` tool
    id: NotRequired[str]
    status: NotRequired[str]


class FunctionCallOutputItem(TypedDict):
    type: Literal["function_call_output", "custom_tool_call_output"]
    call_id: str
    output: str | list[dict[str, Any]]


class CustomToolCallItem(TypedDict):
    type: Literal["custom_tool_call"]
    call_id: str
    name: str
    input: str  # free text (a patch, a shell script, …), not JSON
    id: NotRequired[str]


class SummaryText(TypedDict):
    type: Literal["summary_text"]
    text: str


class ReasoningItem(TypedDict):
    type: Literal["reasoning"]
    id: NotRequired[str]
    summary: list[SummaryText]
    content: NotRequired[list[dict[str, Any]]]  # `reasoning_text` parts (raw reasoning, open models)
    encrypted_content: NotRequired[str | None]  # opaque; only OpenAI's Responses API can read it back


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


class ResponseError(TypedDict):
    code: str  # Codex acts on context_length_exceeded, insufficient_quota, usage_not_included, rate_limit_exceeded
    message: str  # with rate_limit_exceeded, "try again in 1.5s" sets Codex's retry delay


Status = Literal["in_progress", "completed", "incomplete", "failed"]


class ResponseObject(TypedDict):
    id: str
    object: Literal["response"]
    created_at: int
    status: Status
    error: ResponseError | None
    incomplete_details: dict[str, str] | None  # {"reason": "max_output_tokens" | "content_filter"}
    model: str
    output: list[dict[str, Any]]
    usage: WireUsage | None


# Stream events: every one carries `type` and a `sequence_number` that grows by one per event.
StreamEventType = Literal[
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.custom_tool_call_input.delta",
    "response.custom_tool_call_input.done",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_summary_part.done",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "error",
    "keepalive",  # undocumented but sent by OpenAI on long silences; SDKs and Codex ignore it
]
