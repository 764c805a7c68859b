"""Responses API response objects: usage for billing, output items, and translation to and from the hub.

The item and response-object builders here are shared with the stream encoder, so the items a client
sees in `response.output_item.done` are exactly those of `response.completed` and of a non-stream answer.
"""

from __future__ import annotations

from typing import Any

from onegate.accounting.usage import Usage, usage_in_body
from onegate.dialects import canonical as c
from onegate.dialects.openai_responses.tools import CallTarget, CallTargets, custom_arguments, custom_input, flat_name
from onegate.dialects.openai_responses.wire import WireUsage

_ID_PREFIXES = ("resp_", "chatcmpl-", "msg_")


def usage_from_responses(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    inputs = data.get("input_tokens_details") or {}
    outputs = data.get("output_tokens_details") or {}
    return Usage(
        input_tokens=int(data.get("input_tokens") or 0),
        cached_tokens=int(inputs.get("cached_tokens") or 0),
        cache_write_tokens=int(inputs.get("cache_write_tokens") or 0),
        output_tokens=int(data.get("output_tokens") or 0),
        reasoning_tokens=int(outputs.get("reasoning_tokens") or 0),
        reported=True,
    )


def usage_to_responses(usage: Usage) -> WireUsage:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def usage_of_body(body: bytes) -> Usage | None:
    return usage_in_body(body, usage_from_responses)


# Output items ----------------------------------------------------------------------------------------


def response_id(upstream_id: str, created: int) -> str:
    """`resp_…` from whatever id the upstream gave (or the clock, when it gave none)."""
    for prefix in _ID_PREFIXES:
        if upstream_id.startswith(prefix):
            upstream_id = upstream_id[len(prefix) :]
            break
    return f"resp_{upstream_id or created}"


def item_id(prefix: str, resp_id: str, index: int) -> str:
    return f"{prefix}_{resp_id.removeprefix('resp_')}_{index}"


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(id_: str, text: str | None, status: str = "completed") -> dict[str, Any]:
    content = [] if text is None else [text_part(text)]
    return {"id": id_, "type": "message", "status": status, "role": "assistant", "content": content}


def reasoning_item(id_: str, text: str | None, encrypted: str | None = None) -> dict[str, Any]:
    summary = [] if not text else [{"type": "summary_text", "text": text}]
    item: dict[str, Any] = {"id": id_, "type": "reasoning", "summary": summary}
    if encrypted:
        item["encrypted_content"] = encrypted
    return item


# Anthropic's thinking signature (or its redacted thinking) rides in `encrypted_content`, the field a
# Responses client already keeps and sends back with its history (Codex asks for it), so a Messages
# upstream gets its signed thinking back on the next turn, as it requires around tool use. The prefixes
# tell these apart from OpenAI's own encrypted reasoning, which only OpenAI can read.
SIGNATURE_PREFIX = "onegate.thinking-signature:"
REDACTED_PREFIX = "onegate.redacted-thinking:"


def wants_encrypted(body: dict[str, Any]) -> bool:
    include = body.get("include")
    return isinstance(include, list) and "reasoning.encrypted_content" in include


def encrypted_of(signature: str | None, redacted: str | None) -> str | None:
    if redacted:
        return REDACTED_PREFIX + redacted
    return SIGNATURE_PREFIX + signature if signature else None


def thinking_from_encrypted(text: str, encrypted: str) -> c.ThinkingPart | None:
    """The signed (or redacted) thinking onegate put in `encrypted_content`; None for anyone else's."""
    if encrypted.startswith(SIGNATURE_PREFIX):
        return c.ThinkingPart(text, signature=encrypted[len(SIGNATURE_PREFIX) :])
    if encrypted.startswith(REDACTED_PREFIX):
        return c.ThinkingPart("", redacted_data=encrypted[len(REDACTED_PREFIX) :])
    return None


def call_item(id_: str, call_id: str, target: CallTarget, arguments: str, status: str = "completed") -> dict[str, Any]:
    """A `function_call` item, or a `custom_tool_call` for a freeform tool, as the client declared it."""
    if target.custom:
        item = {"id": id_, "type": "custom_tool_call", "status": status, "call_id": call_id, "name": target.name}
        item["input"] = custom_input(arguments) if status == "completed" else ""
    else:
        item = {"id": id_, "type": "function_call", "status": status, "arguments": arguments, "call_id": call_id}
        item["name"] = target.name
    if target.namespace:
        item["namespace"] = target.namespace
    return item


def response_object(
    resp_id: str,
    model: str,
    created: int,
    body: dict[str, Any],
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None,
    error: dict[str, str] | None = None,
    incomplete_reason: str | None = None,
) -> dict[str, Any]:
    """The response object, echoing the request's settings the way OpenAI does."""
    reasoning = v if isinstance(v := body.get("reasoning"), dict) else {}
    text = body.get("text") if isinstance(body.get("text"), dict) else {"format": {"type": "text"}}
    return {
        "id": resp_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": body.get("store", False),
        "temperature": body.get("temperature", 1.0),
        "text": text,
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage_to_responses(usage) if usage is not None else None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


# Stop reasons: `max_tokens` and `refusal` end a response as incomplete, the rest as completed.
INCOMPLETE_REASONS: dict[str, str] = {"max_tokens": "max_output_tokens", "refusal": "content_filter"}


def from_canonical(resp: c.CanonicalResponse, model: str, created: int, body: dict[str, Any]) -> dict[str, Any]:
    resp_id = response_id(resp.id, created)
    targets = CallTargets(body.get("tools"))
    keep_signatures = wants_encrypted(body)
    output: list[dict[str, Any]] = []
    texts: list[str] = []

    def flush_text() -> None:
        if texts:
            output.append(message_item(item_id("msg", resp_id, len(output)), "".join(texts)))
            texts.clear()

    for part in resp.parts:
        if isinstance(part, c.TextPart):
            texts.append(part.text)
        elif isinstance(part, c.ThinkingPart) and (part.text or part.redacted_data):
            flush_text()
            encrypted = encrypted_of(part.signature, part.redacted_data) if keep_signatures else None
            output.append(reasoning_item(item_id("rs", resp_id, len(output)), part.text, encrypted))
        elif isinstance(part, c.ToolCallPart):
            flush_text()
            target = targets.target(part.name)
            prefix = "ctc" if target.custom else "fc"
            output.append(call_item(item_id(prefix, resp_id, len(output)), part.id, target, part.arguments))
    flush_text()
    reason = INCOMPLETE_REASONS.get(resp.stop_reason)
    status = "incomplete" if reason else "completed"
    return response_object(resp_id, model, created, body, status, output, resp.usage, incomplete_reason=reason)


def _item_parts(item: dict[str, Any]) -> list[c.Part]:
    kind = item.get("type")
    if kind == "message":
        return [
            c.TextPart(p.get("text") or p.get("refusal") or "")
            for p in item.get("content") or []
            if p.get("type") in ("output_text", "refusal")
        ]
    if kind == "reasoning":
        texts = [s.get("text", "") for s in item.get("summary") or []] or [
            s.get("text", "") for s in item.get("content") or []
        ]
        return [c.ThinkingPart("\n\n".join(texts))] if any(texts) else []
    if kind == "function_call":
        name = flat_name(item.get("namespace"), item.get("name", ""))
        return [c.ToolCallPart(item.get("call_id", ""), name, item.get("arguments") or "{}")]
    if kind == "custom_tool_call":
        name = flat_name(item.get("namespace"), item.get("name", ""))
        return [c.ToolCallPart(item.get("call_id", ""), name, custom_arguments(item.get("input", "")))]
    return []  # hosted-tool records (web_search_call, …) have no neutral form


def stop_reason_of(status: str | None, incomplete: Any, parts: list[c.Part]) -> c.StopReason:
    if status == "incomplete":
        reason = incomplete.get("reason") if isinstance(incomplete, dict) else None
        return "refusal" if reason == "content_filter" else "max_tokens"
    return "tool_use" if any(isinstance(p, c.ToolCallPart) for p in parts) else "end_turn"


def to_canonical(body: dict[str, Any]) -> c.CanonicalResponse:
    parts = [p for item in body.get("output") or [] for p in _item_parts(item)]
    return c.CanonicalResponse(
        id=body.get("id", ""),
        model=body.get("model", ""),
        parts=parts,
        stop_reason=stop_reason_of(body.get("status"), body.get("incomplete_details"), parts),
        usage=usage_from_responses(body.get("usage")) or Usage(),
    )
