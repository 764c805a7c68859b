"""Reading and patching OpenAI request bodies.

Same dialect in and out is a pass-through: only `model` is replaced and, on streams,
`stream_options.include_usage` forced on so the request can be billed.
"""

from __future__ import annotations

from typing import Any

from onegate import errors
from onegate.dialects import canonical as c
from onegate.dialects.openai_chat.wire import ChatRequest, PassthroughRequest
from onegate.dialects.schema import check_model_name, validate
from onegate.errors import GatewayError
from onegate.i18n.catalog import text

# Which field names the input on each endpoint, for the "missing field" error.
REQUIRED_FIELDS = {
    "chat": ("messages",),
    "completions": ("prompt",),
    "embeddings": ("input",),
}
SCHEMAS: dict[str, type] = {"chat": ChatRequest, "completions": PassthroughRequest, "embeddings": PassthroughRequest}


def require_fields(body: dict[str, Any], endpoint: str) -> str:
    """Check the fields every request of `endpoint` needs; returns the requested model."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise GatewayError(errors.INVALID_REQUEST, "Missing required parameter: 'model'.", param="model")
    check_model_name(model)
    for name in REQUIRED_FIELDS[endpoint]:
        if name not in body:
            if endpoint == "chat" and "input" in body:
                # Cursor's known BYOK bug for gpt-* models: a Responses-API body sent to /chat/completions.
                raise GatewayError(
                    errors.INVALID_REQUEST,
                    text("body.responses_on_chat"),
                    param="messages",
                    hint="body.responses_on_chat",
                    fix=text("body.responses_on_chat.fix"),
                )
            raise GatewayError(errors.INVALID_REQUEST, f"Missing required parameter: '{name}'.", param=name)
    if endpoint == "chat" and not isinstance(body["messages"], list):
        raise GatewayError(errors.INVALID_REQUEST, "'messages' must be an array.", param="messages")
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise GatewayError(errors.INVALID_REQUEST, "'stream' must be a boolean.", param="stream")
    validate(body, SCHEMAS[endpoint])
    return model


def wants_usage_chunk(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


def patch_for_upstream(body: dict[str, Any], upstream_model: str, stream: bool) -> dict[str, Any]:
    """The pass-through body: the same object with the upstream model name and usage reporting on."""
    body["model"] = upstream_model
    if stream:
        options = body.get("stream_options")
        if isinstance(options, dict):
            options["include_usage"] = True
        else:
            body["stream_options"] = {"include_usage": True}
    return body


# Translation to and from the neutral model ---------------------------------------------------------

_EFFORTS = ("minimal", "low", "medium", "high")


def _content_parts(content: Any) -> list[c.Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [c.TextPart(content)] if content else []
    parts: list[c.Part] = []
    for item in content:
        kind = item.get("type")
        if kind == "text":
            parts.append(c.TextPart(item.get("text", "")))
        elif kind == "image_url":
            url = item["image_url"]["url"] if isinstance(item.get("image_url"), dict) else item.get("image_url")
            if url:
                parts.append(image_from_url(url))
    return parts


def image_from_url(url: str) -> c.ImagePart:
    """`data:image/png;base64,…` becomes inline data; anything else stays a URL."""
    if url.startswith("data:") and ";base64," in url:
        head, data = url[5:].split(";base64,", 1)
        return c.ImagePart(data=data, media_type=head or "image/png")
    return c.ImagePart(url=url)


def image_to_url(part: c.ImagePart) -> str:
    return part.url or f"data:{part.media_type or 'image/png'};base64,{part.data}"


def tool_call_parts(calls: list[dict[str, Any]] | None) -> list[c.Part]:
    return [
        c.ToolCallPart(call.get("id", ""), call["function"]["name"], call["function"].get("arguments") or "{}")
        for call in calls or []
        if call.get("function")
    ]


def to_canonical(body: dict[str, Any]) -> c.CanonicalRequest:
    system: list[c.TextPart] = []
    messages: list[c.Message] = []
    for message in body.get("messages") or []:
        role = message.get("role")
        if role in ("system", "developer"):
            texts = [p for p in _content_parts(message.get("content")) if isinstance(p, c.TextPart)]
            if messages:
                messages.append(c.Message("system", list(texts)))
            else:
                system.extend(texts)
        elif role == "tool":
            text = message.get("content")
            result = c.ToolResultPart(
                message.get("tool_call_id") or "",
                [p for p in _content_parts(text) if isinstance(p, c.TextPart | c.ImagePart)],
            )
            if (
                messages
                and messages[-1].role == "user"
                and all(isinstance(p, c.ToolResultPart) for p in messages[-1].parts)
            ):
                messages[-1].parts.append(result)
            else:
                messages.append(c.Message("user", [result]))
        elif role == "assistant":
            parts: list[c.Part] = []
            reasoning = message.get("reasoning_content") or message.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                parts.append(c.ThinkingPart(reasoning))
            parts += _content_parts(message.get("content"))
            parts += tool_call_parts(message.get("tool_calls"))
            messages.append(c.Message("assistant", parts))
        else:
            messages.append(c.Message("user", _content_parts(message.get("content"))))
    stop = body.get("stop")
    effort = body.get("reasoning_effort")
    return c.CanonicalRequest(
        model=body["model"],
        messages=messages,
        system=system,
        tools=[_tool_to_canonical(t) for t in body.get("tools") or []],
        tool_choice=_tool_choice_to_canonical(body.get("tool_choice")),
        parallel_tool_calls=body.get("parallel_tool_calls"),
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=[stop] if isinstance(stop, str) else list(stop or []),
        stream=body.get("stream") is True,
        reasoning=c.Reasoning(effort=effort) if effort in _EFFORTS else None,
        response_format=_response_format_to_canonical(body.get("response_format")),
        user=body.get("user"),
    )


def _tool_to_canonical(tool: dict[str, Any]) -> c.Tool:
    if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
        fn = tool["function"]
        return c.Tool(fn["name"], fn.get("description"), fn.get("parameters") or {"type": "object", "properties": {}})
    return c.Tool(tool.get("name", tool.get("type", "")), kind=tool.get("type", "unknown"), raw=tool)


def _tool_choice_to_canonical(choice: Any) -> c.ToolChoice | None:
    if choice in ("auto", "none", "required"):
        return c.ToolChoice(choice)
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return c.ToolChoice("tool", choice["function"].get("name"))
    return None


def _response_format_to_canonical(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and value.get("type") == "json_schema" and isinstance(value.get("json_schema"), dict):
        spec = value["json_schema"]
        return {"type": "json_schema", "name": spec.get("name", "response"), "schema": spec.get("schema", {})}
    if isinstance(value, dict) and value.get("type") == "json_object":
        return {"type": "json_object"}
    return None


def _text(parts: list[c.Part]) -> str:
    """Text blocks of one input message (Claude Code sends several) as one string, kept apart by a blank line."""
    return "\n\n".join(p.text for p in parts if isinstance(p, c.TextPart) and p.text)


def _user_content(parts: list[c.Part]) -> str | list[dict[str, Any]]:
    if all(isinstance(p, c.TextPart) for p in parts):
        return _text(parts)
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, c.TextPart):
            out.append({"type": "text", "text": p.text})
        elif isinstance(p, c.ImagePart):
            out.append({"type": "image_url", "image_url": {"url": image_to_url(p)}})
    return out


def _messages_from_canonical(req: c.CanonicalRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if req.system:
        out.append({"role": "system", "content": _text(list(req.system))})
    for message in req.messages:
        if message.role == "system":
            out.append({"role": "system", "content": _text(message.parts)})
            continue
        if message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": _text(message.parts) or None}
            calls = [p for p in message.parts if isinstance(p, c.ToolCallPart)]
            if calls:
                entry["tool_calls"] = [
                    {"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}}
                    for p in calls
                ]
            if any(isinstance(p, c.ThinkingPart) for p in message.parts):
                req.notes.append("thinking blocks in the history were dropped (Chat Completions has no field for them)")
            out.append(entry)
            continue
        # Tool results become `tool` messages, which must directly follow the assistant's tool calls.
        rest: list[c.Part] = []
        for p in message.parts:
            if isinstance(p, c.ToolResultPart):
                content = _user_content(list(p.content))
                if p.is_error and isinstance(content, str):
                    content = f"[tool error] {content}"
                out.append({"role": "tool", "tool_call_id": p.call_id, "content": content})
            else:
                rest.append(p)
        if rest:
            out.append({"role": "user", "content": _user_content(rest)})
    return out


def _tool_from_canonical(tool: c.Tool) -> dict[str, Any]:
    if tool.kind != "function" and tool.raw is not None:
        return tool.raw
    fn: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
    if tool.description:
        fn["description"] = tool.description
    return {"type": "function", "function": fn}


def from_canonical(req: c.CanonicalRequest, model: str) -> dict[str, Any]:
    """A Chat Completions body for an OpenAI-compatible upstream (usage always requested on streams)."""
    body: dict[str, Any] = {"model": model, "messages": _messages_from_canonical(req)}
    if req.tools:
        body["tools"] = [_tool_from_canonical(t) for t in req.tools]
        if req.tool_choice is not None:
            body["tool_choice"] = (
                {"type": "function", "function": {"name": req.tool_choice.name}}
                if req.tool_choice.mode == "tool"
                else req.tool_choice.mode
            )
        if req.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = req.parallel_tool_calls
    if req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    for name in ("temperature", "top_p", "user"):
        value = getattr(req, name)
        if value is not None:
            body[name] = value
    if req.stop:
        body["stop"] = req.stop
    if req.response_format is not None:
        if req.response_format.get("type") == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": req.response_format.get("name", "response"),
                    "schema": req.response_format["schema"],
                },
            }
        else:
            body["response_format"] = {"type": "json_object"}
    if req.reasoning is not None:
        # `reasoning_effort` is refused by most non-reasoning Chat models, and Claude Code asks for thinking on all
        req.notes.append("thinking/reasoning settings were not sent (Chat Completions upstreams differ on them)")
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body
