"""OpenAI Chat Completions response bodies: usage for billing, and translation to and from the neutral model."""

from __future__ import annotations

from typing import Any

from onegate.accounting.usage import Usage, usage_from_openai, usage_in_body
from onegate.dialects import canonical as c
from onegate.dialects.openai_chat.request import tool_call_parts
from onegate.dialects.openai_chat.wire import WireUsage

FINISH_TO_STOP: dict[str, c.StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
STOP_TO_FINISH: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
}


def usage_of_body(body: bytes) -> Usage | None:
    """Usage of a non-stream response (chat, completions, embeddings); None when absent or unparseable."""
    return usage_in_body(body, usage_from_openai)


def usage_to_openai(usage: Usage) -> WireUsage:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def to_canonical(body: dict[str, Any]) -> c.CanonicalResponse:
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    parts: list[c.Part] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        parts.append(c.ThinkingPart(reasoning))
    if message.get("content"):
        parts.append(c.TextPart(message["content"]))
    parts += tool_call_parts(message.get("tool_calls"))
    return c.CanonicalResponse(
        id=body.get("id", ""),
        model=body.get("model", ""),
        parts=parts,
        stop_reason=FINISH_TO_STOP.get(choice.get("finish_reason") or "stop", "end_turn"),
        usage=usage_from_openai(body.get("usage")) or Usage(),
    )


def from_canonical(
    resp: c.CanonicalResponse, model: str, created: int, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    calls = [p for p in resp.parts if isinstance(p, c.ToolCallPart)]
    message: dict[str, Any] = {"role": "assistant", "content": c.text_of(resp.parts) or None}
    thinking = "".join(p.text for p in resp.parts if isinstance(p, c.ThinkingPart))
    if thinking:
        message["reasoning_content"] = thinking
    if calls:
        message["tool_calls"] = [
            {"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}} for p in calls
        ]
    return {
        "id": resp.id if resp.id.startswith("chatcmpl") else f"chatcmpl-{resp.id}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": STOP_TO_FINISH[resp.stop_reason]}
        ],
        "usage": usage_to_openai(resp.usage),
    }
