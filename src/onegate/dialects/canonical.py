"""The neutral model where different dialects meet: requests, responses and stream events.

Each dialect converts to and from this hub (`request.to_canonical` / `from_canonical`, and so on), so
N dialects need 2N converters, not N². Its stream events follow the content-block model (start, deltas,
stop per block; one end event with the stop reason and usage) because it is the richest of the dialects:
text, thinking with signatures and parallel tool calls each fit in a block without loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from onegate.accounting.usage import Usage

Role = Literal["user", "assistant", "system"]
StopReason = Literal["end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal", "pause_turn"]


@dataclass(slots=True)
class TextPart:
    text: str
    cache_control: dict[str, Any] | None = None


@dataclass(slots=True)
class ImagePart:
    url: str | None = None  # an http(s) URL, or None when `data` holds the bytes
    data: str | None = None  # base64
    media_type: str | None = None


@dataclass(slots=True)
class ThinkingPart:
    text: str
    signature: str | None = None
    redacted_data: str | None = None  # Anthropic's redacted_thinking blob, opaque


@dataclass(slots=True)
class ToolCallPart:
    id: str
    name: str
    arguments: str  # JSON text, exactly as produced


@dataclass(slots=True)
class ToolResultPart:
    call_id: str
    content: list[TextPart | ImagePart]
    is_error: bool = False


Part = TextPart | ImagePart | ThinkingPart | ToolCallPart | ToolResultPart


@dataclass(slots=True)
class Message:
    role: Role  # "system" only for a system message inside the conversation (Claude Code sends those)
    parts: list[Part]


@dataclass(slots=True)
class Tool:
    name: str
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    kind: str = "function"  # anything else is a vendor tool (`custom`, `web_search`, …), kept in `raw`
    raw: dict[str, Any] | None = None  # in the shape of the dialect it came from
    # A hosted tool the model can answer without (web search): an upstream dialect that cannot carry it
    # drops it with a note instead of refusing the request.
    droppable: bool = False


@dataclass(slots=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "tool"]
    name: str | None = None


@dataclass(slots=True)
class Reasoning:
    effort: str | None = None  # "minimal" | "low" | "medium" | "high"
    budget_tokens: int | None = None
    summary: str | None = None


@dataclass(slots=True)
class CanonicalRequest:
    model: str
    messages: list[Message]
    system: list[TextPart] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    stream: bool = False
    reasoning: Reasoning | None = None
    response_format: dict[str, Any] | None = None  # {"type": "json_schema", "schema": …, "name": …}
    user: str | None = None
    notes: list[str] = field(default_factory=list)  # what a conversion dropped, for the request log


@dataclass(slots=True)
class CanonicalResponse:
    id: str
    model: str
    parts: list[Part]
    stop_reason: StopReason
    usage: Usage
    stop_sequence: str | None = None


# Stream events -------------------------------------------------------------------------------------


@dataclass(slots=True)
class StreamStart:
    id: str
    model: str
    usage: Usage | None = None  # input side, when the upstream says it up front


@dataclass(slots=True)
class BlockStart:
    index: int
    part: TextPart | ThinkingPart | ToolCallPart  # with empty text/arguments


@dataclass(slots=True)
class BlockDelta:
    index: int
    kind: Literal["text", "thinking", "signature", "arguments"]
    value: str


@dataclass(slots=True)
class BlockStop:
    index: int


@dataclass(slots=True)
class StreamEnd:
    stop_reason: StopReason
    usage: Usage | None
    stop_sequence: str | None = None


StreamEvent = StreamStart | BlockStart | BlockDelta | BlockStop | StreamEnd


def text_of(parts: list[Part]) -> str:
    """The plain text of some parts (text parts only, joined)."""
    return "".join(p.text for p in parts if isinstance(p, TextPart))
