"""Reading, patching and translating Anthropic Messages request bodies.

Messages in, Anthropic upstream out is a pass-through: only `model` changes, so `cache_control`,
thinking, betas and every field Claude Code adds reach Anthropic as sent. Translation reads what the
neutral model can carry and records in `notes` what it had to leave behind.
"""

from __future__ import annotations

from typing import Any

import orjson

from onegate import errors
from onegate.accounting.usage import estimate_tokens
from onegate.dialects import canonical as c
from onegate.dialects.anthropic_messages.wire import MessagesRequest
from onegate.dialects.schema import check_model_name, too_deep, validate
from onegate.errors import GatewayError

# Fields the neutral model has no place for; named in the request log when a translation drops them.
_UNCARRIED = ("context_management", "top_k", "container", "mcp_servers", "service_tier", "inference_geo")
_EFFORTS = {"minimal": "minimal", "low": "low", "medium": "medium", "high": "high", "max": "high"}
IMAGE_TOKENS = 1600  # what Anthropic bills a ~1 megapixel image; good enough for an estimate


def require_fields(body: dict[str, Any]) -> str:
    """Check what every Messages (and count_tokens) request needs; returns the requested model."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise GatewayError(errors.INVALID_REQUEST, "model: Field required", param="model")
    check_model_name(model)
    if not isinstance(body.get("messages"), list):
        raise GatewayError(errors.INVALID_REQUEST, "messages: Field required (an array)", param="messages")
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise GatewayError(errors.INVALID_REQUEST, "stream: Input should be a valid boolean", param="stream")
    validate(body, MessagesRequest)
    return model


def patch_for_upstream(body: dict[str, Any], upstream_model: str, stream: bool) -> dict[str, Any]:
    """The pass-through body: the same object with the upstream model name, nothing else touched."""
    body["model"] = upstream_model
    return body


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """A local stand-in for `count_tokens`: text length / 4, tool schemas as JSON, images at a flat rate."""
    chars, images = 0, 0
    system = body.get("system")
    chars += len(system) if isinstance(system, str) else sum(len(b.get("text", "")) for b in system or [])
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            chars += len(content)
            continue
        for block in content or []:
            kind = block.get("type")
            if kind == "image":
                images += 1
            elif kind == "tool_result":
                inner = block.get("content")
                chars += len(inner) if isinstance(inner, str) else len(orjson.dumps(inner or []))
            elif kind == "tool_use":
                chars += len(orjson.dumps(block.get("input") or {}))
            else:
                chars += len(block.get("text") or block.get("thinking") or "")
    if body.get("tools"):
        chars += len(orjson.dumps(body["tools"]))
    return estimate_tokens(chars) + images * IMAGE_TOKENS


# Messages → neutral ---------------------------------------------------------------------------------


def _text(block: dict[str, Any]) -> c.TextPart:
    return c.TextPart(block.get("text", ""), block.get("cache_control"))


def _image(block: dict[str, Any]) -> c.ImagePart | None:
    source = block.get("source")
    if not isinstance(source, dict):
        return None
    if source.get("type") == "base64":
        return c.ImagePart(data=source.get("data"), media_type=source.get("media_type"))
    if source.get("type") == "url":
        return c.ImagePart(url=source.get("url"))
    return None


def _tool_result(block: dict[str, Any], notes: list[str]) -> c.ToolResultPart:
    content = block.get("content")
    parts: list[c.TextPart | c.ImagePart] = []
    if isinstance(content, str):
        parts.append(c.TextPart(content))
    for item in content if isinstance(content, list) else []:
        if item.get("type") == "text":
            parts.append(_text(item))
        elif item.get("type") == "image" and (image := _image(item)) is not None:
            parts.append(image)
        else:
            notes.append(f"a {item.get('type')} block inside a tool result was dropped")
    return c.ToolResultPart(block.get("tool_use_id", ""), parts, bool(block.get("is_error")))


def _parts(content: Any, notes: list[str]) -> list[c.Part]:
    if isinstance(content, str):
        return [c.TextPart(content)] if content else []
    parts: list[c.Part] = []
    for block in content or []:
        kind = block.get("type")
        if kind == "text":
            parts.append(_text(block))
        elif kind == "image" and (image := _image(block)) is not None:
            parts.append(image)
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            parts.append(c.ToolCallPart(block.get("id", ""), block.get("name", ""), arguments))
        elif kind == "tool_result":
            parts.append(_tool_result(block, notes))
        elif kind == "thinking":
            parts.append(c.ThinkingPart(block.get("thinking", ""), block.get("signature")))
        elif kind == "redacted_thinking":
            parts.append(c.ThinkingPart("", redacted_data=block.get("data")))
        else:
            notes.append(f"a {kind} content block was dropped")
    return parts


def _tools(tools: list[dict[str, Any]], notes: list[str]) -> list[c.Tool]:
    out: list[c.Tool] = []
    for tool in tools:
        if tool.get("type") in (None, "custom"):  # Claude Code's tools carry no type at all
            schema = tool.get("input_schema") or {"type": "object", "properties": {}}
            out.append(c.Tool(tool.get("name", ""), tool.get("description"), schema))
        else:
            notes.append(f"Anthropic server tool {tool.get('name') or tool.get('type')} was dropped")
    return out


def _tool_choice(choice: Any) -> tuple[c.ToolChoice | None, bool | None]:
    if not isinstance(choice, dict):
        return None, None
    parallel = False if choice.get("disable_parallel_tool_use") else None
    kind = choice.get("type")
    if kind == "tool":
        return c.ToolChoice("tool", choice.get("name")), parallel
    mode = {"auto": "auto", "any": "required", "none": "none"}.get(kind or "")
    return (c.ToolChoice(mode) if mode else None), parallel  # type: ignore[arg-type]


def _reasoning(body: dict[str, Any]) -> c.Reasoning | None:
    thinking = v if isinstance(v := body.get("thinking"), dict) else {}
    config = v if isinstance(v := body.get("output_config"), dict) else {}
    effort = _EFFORTS.get(str(config.get("effort")))
    if thinking.get("type") == "enabled":
        return c.Reasoning(effort=effort, budget_tokens=thinking.get("budget_tokens"))
    if thinking.get("type") == "adaptive" or effort:
        return c.Reasoning(effort=effort or "medium")
    return None


def _response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    config = v if isinstance(v := body.get("output_config"), dict) else {}
    fmt = config.get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return {"type": "json_schema", "name": fmt.get("name", "response"), "schema": fmt.get("schema", {})}
    return None


def _user(body: dict[str, Any], notes: list[str]) -> str | None:
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if not isinstance(user_id, str) or not user_id:
        return None
    if len(user_id) > 64:  # Claude Code's is a JSON document; OpenAI caps `user` at 64 characters
        notes.append("metadata.user_id was not forwarded (longer than 64 characters)")
        return None
    return user_id


def to_canonical(body: dict[str, Any]) -> c.CanonicalRequest:
    notes: list[str] = []
    system = body.get("system")
    system_parts = [c.TextPart(system)] if isinstance(system, str) and system else []
    system_parts += [_text(b) for b in system if b.get("type") == "text"] if isinstance(system, list) else []
    messages = [
        c.Message(
            m.get("role") if m.get("role") in ("assistant", "system") else "user", _parts(m.get("content"), notes)
        )
        for m in body.get("messages") or []
    ]
    choice, parallel = _tool_choice(body.get("tool_choice"))
    dropped = [name for name in _UNCARRIED if body.get(name) is not None]
    if dropped:
        notes.append("not translated: " + ", ".join(dropped))
    stop = body.get("stop_sequences")
    return c.CanonicalRequest(
        model=body["model"],
        messages=messages,
        system=system_parts,
        tools=_tools(body.get("tools") or [], notes),
        tool_choice=choice,
        parallel_tool_calls=parallel,
        max_tokens=body.get("max_tokens"),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=list(stop) if isinstance(stop, list) else [],
        stream=body.get("stream") is True,
        reasoning=_reasoning(body),
        response_format=_response_format(body),
        user=_user(body, notes),
        notes=notes,
    )


# neutral → Messages ---------------------------------------------------------------------------------

DEFAULT_MAX_TOKENS = 4096  # Messages requires max_tokens; Chat clients often leave it out
_BUDGETS = {"low": 2048, "medium": 8192, "high": 16384}  # reasoning effort → thinking budget


def _image_block(part: c.ImagePart) -> dict[str, Any]:
    source: dict[str, str | None]
    if part.data is not None:
        source = {"type": "base64", "media_type": part.media_type or "image/png", "data": part.data}
    else:
        source = {"type": "url", "url": part.url}
    return {"type": "image", "source": source}


def _text_block(part: c.TextPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": part.text}
    if part.cache_control is not None:
        block["cache_control"] = part.cache_control
    return block


def tool_input(call: c.ToolCallPart, notes: list[str]) -> dict[str, Any]:
    try:
        value = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict) and not too_deep(value):  # JSON in a string is not checked at decode
        return value
    notes.append(f"the arguments of tool call {call.id} were not a JSON object and were sent as {{}}")
    return {}


def _result_block(part: c.ToolResultPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.call_id}
    if all(isinstance(p, c.TextPart) and p.cache_control is None for p in part.content):
        block["content"] = c.text_of(list(part.content))
    else:
        block["content"] = [_text_block(p) if isinstance(p, c.TextPart) else _image_block(p) for p in part.content]
    if part.is_error:
        block["is_error"] = True
    return block


def _block(part: c.Part, notes: list[str]) -> dict[str, Any] | None:
    if isinstance(part, c.TextPart):
        return _text_block(part) if part.text else None  # Anthropic refuses empty text blocks
    if isinstance(part, c.ImagePart):
        return _image_block(part)
    if isinstance(part, c.ToolCallPart):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": tool_input(part, notes)}
    if isinstance(part, c.ToolResultPart):
        return _result_block(part)
    if part.redacted_data is not None:
        return {"type": "redacted_thinking", "data": part.redacted_data}
    if part.signature:
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    # Anthropic verifies thinking signatures; reasoning from another vendor has none and would be refused.
    notes.append("unsigned reasoning in the history was dropped (Anthropic accepts only signed thinking)")
    return None


def _messages(req: c.CanonicalRequest, system: list[dict[str, Any]], notes: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in req.messages:
        blocks = [b for b in (_block(p, notes) for p in message.parts) if b is not None]
        if message.role == "system":
            system.extend(b for b in blocks if b["type"] == "text")
            notes.append("a system message inside the conversation was moved to the system prompt")
        elif len(blocks) == 1 and blocks[0]["type"] == "text" and "cache_control" not in blocks[0]:
            out.append({"role": message.role, "content": blocks[0]["text"]})
        elif blocks:
            out.append({"role": message.role, "content": blocks})
    return out


def _tool_param(tool: c.Tool) -> dict[str, Any]:
    param: dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description:
        param["description"] = tool.description
    return param


def _tool_choice_param(req: c.CanonicalRequest) -> dict[str, Any] | None:
    choice = req.tool_choice
    param: dict[str, Any] | None = None
    if choice is not None:
        kind = {"auto": "auto", "required": "any", "none": "none", "tool": "tool"}[choice.mode]
        param = {"type": kind, "name": choice.name} if kind == "tool" else {"type": kind}
    if req.parallel_tool_calls is False:
        param = param or {"type": "auto"}
        if param["type"] != "none":
            param["disable_parallel_tool_use"] = True
    return param


def _thinking(req: c.CanonicalRequest, body: dict[str, Any], notes: list[str]) -> None:
    reasoning = req.reasoning
    budget = None
    if reasoning is not None:
        budget = reasoning.budget_tokens or _BUDGETS.get(reasoning.effort or "")
    if not budget:
        return
    budget = max(1024, budget)  # Anthropic's minimum
    if body["max_tokens"] <= budget:
        body["max_tokens"] += budget
        notes.append(f"max_tokens raised to {body['max_tokens']} to leave room for a {budget}-token thinking budget")
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    # With thinking on, Anthropic accepts only the default temperature and top_p >= 0.95.
    if body.pop("temperature", 1) != 1:
        notes.append("temperature was not sent (Anthropic fixes it while thinking)")
    if body.get("top_p", 1) < 0.95:
        body.pop("top_p")
        notes.append("top_p was not sent (Anthropic requires >= 0.95 while thinking)")


def from_canonical(req: c.CanonicalRequest, model: str) -> dict[str, Any]:
    """A Messages body for an Anthropic upstream."""
    notes = req.notes
    system = [_text_block(p) for p in req.system if p.text]
    messages = _messages(req, system, notes)
    body: dict[str, Any] = {"model": model, "max_tokens": req.max_tokens or DEFAULT_MAX_TOKENS}
    if req.max_tokens is None:
        notes.append(f"max_tokens was not given; sent {DEFAULT_MAX_TOKENS} (Messages requires it)")
    if system:
        body["system"] = system
    body["messages"] = messages
    tools = [t for t in req.tools if t.kind == "function"]
    if len(tools) < len(req.tools):
        notes.append("non-function tools were dropped: " + ", ".join(t.name for t in req.tools if t.kind != "function"))
    if tools:
        body["tools"] = [_tool_param(t) for t in tools]
        if (choice := _tool_choice_param(req)) is not None:
            body["tool_choice"] = choice
    if req.temperature is not None:
        body["temperature"] = min(req.temperature, 1.0)
        if req.temperature > 1.0:
            notes.append(f"temperature {req.temperature} sent as 1.0 (Anthropic's maximum)")
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.stop:
        body["stop_sequences"] = req.stop
    _thinking(req, body, notes)
    if req.response_format is not None:
        if req.response_format.get("type") == "json_schema":
            body["output_config"] = {"format": {"type": "json_schema", "schema": req.response_format["schema"]}}
        else:
            notes.append("response_format json_object was not sent (Messages has no JSON mode)")
    if req.user:
        body["metadata"] = {"user_id": req.user}
    if req.stream:
        body["stream"] = True
    return body
