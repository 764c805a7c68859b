"""Anthropic Messages response bodies: usage for billing, and translation to and from the neutral model.

Anthropic's `input_tokens` counts only the prompt tokens that were neither read from nor written to
the cache; our `Usage.input_tokens` counts the whole prompt. Both directions convert:
whole prompt = input_tokens + cache_read_input_tokens + cache_creation_input_tokens.
"""

from __future__ import annotations

from typing import Any

import orjson

from onegate.accounting.usage import Usage, usage_in_body
from onegate.dialects import canonical as c
from onegate.dialects.anthropic_messages.request import tool_input
from onegate.dialects.anthropic_messages.wire import WireUsage

# Anthropic's stop reasons; the one the neutral model lacks maps to its nearest meaning.
WIRE_TO_STOP: dict[str, c.StopReason] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "pause_turn": "pause_turn",
    "refusal": "refusal",
    "model_context_window_exceeded": "max_tokens",
}


def usage_from_wire(data: Any, base: Usage | None = None) -> Usage | None:
    """Read an Anthropic `usage` object onto `base` (fields absent from `data` keep base's values).

    A stream reports usage twice: `message_start` (prompt side) and `message_delta` (cumulative
    totals, where optional fields are left out when unchanged), hence the merge.
    """
    if not isinstance(data, dict):
        return None
    usage = Usage() if base is None else base
    uncached_before = _uncached(usage)
    uncached = data.get("input_tokens")
    if data.get("cache_read_input_tokens") is not None:
        usage.cached_tokens = int(data["cache_read_input_tokens"])
    if data.get("cache_creation_input_tokens") is not None:
        usage.cache_write_tokens = int(data["cache_creation_input_tokens"])
    uncached_now = int(uncached) if uncached is not None else uncached_before
    usage.input_tokens = uncached_now + usage.cached_tokens + usage.cache_write_tokens
    if data.get("output_tokens") is not None:
        usage.output_tokens = int(data["output_tokens"])
    usage.reported = True
    return usage


def _uncached(usage: Usage) -> int:
    return max(0, usage.input_tokens - usage.cached_tokens - usage.cache_write_tokens)


def usage_to_wire(usage: Usage) -> WireUsage:
    return {
        "input_tokens": _uncached(usage),
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.output_tokens,
    }


def usage_of_body(body: bytes) -> Usage | None:
    """Usage of a non-stream Messages response; None when absent or unparseable."""
    return usage_in_body(body, usage_from_wire)


def no_usage(body: bytes) -> Usage:
    """count_tokens answers are free: a reported, empty usage keeps the log from estimating one."""
    return Usage(reported=True)


def part_of_block(block: dict[str, Any]) -> c.Part | None:
    kind = block.get("type")
    if kind == "text":
        return c.TextPart(block.get("text", ""))
    if kind == "thinking":
        return c.ThinkingPart(block.get("thinking", ""), block.get("signature") or None)
    if kind == "redacted_thinking":
        return c.ThinkingPart("", redacted_data=block.get("data"))
    if kind == "tool_use":
        return c.ToolCallPart(block.get("id", ""), block.get("name", ""), orjson.dumps(block.get("input", {})).decode())
    return None  # server tool blocks, citations-only blocks: nothing another dialect can show


def to_canonical(body: dict[str, Any]) -> c.CanonicalResponse:
    parts = [p for p in map(part_of_block, body.get("content") or []) if p is not None]
    return c.CanonicalResponse(
        id=body.get("id", ""),
        model=body.get("model", ""),
        parts=parts,
        stop_reason=WIRE_TO_STOP.get(body.get("stop_reason") or "end_turn", "end_turn"),
        usage=usage_from_wire(body.get("usage")) or Usage(),
        stop_sequence=body.get("stop_sequence"),
    )


def block_of_part(part: c.Part) -> dict[str, Any] | None:
    if isinstance(part, c.TextPart):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, c.ThinkingPart):
        if part.redacted_data is not None:
            return {"type": "redacted_thinking", "data": part.redacted_data}
        return {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}
    if isinstance(part, c.ToolCallPart):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": tool_input(part, [])}
    return None


def message_id(upstream_id: str) -> str:
    return upstream_id if upstream_id.startswith("msg_") else f"msg_{upstream_id or 'onegate'}"


def from_canonical(
    resp: c.CanonicalResponse, model: str, created: int, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": message_id(resp.id),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [b for b in map(block_of_part, resp.parts) if b is not None],
        "stop_reason": resp.stop_reason,
        "stop_sequence": resp.stop_sequence,
        "usage": usage_to_wire(resp.usage),
    }
