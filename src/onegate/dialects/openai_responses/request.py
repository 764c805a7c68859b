"""Reading, patching and translating Responses API request bodies.

Pass-through (a channel that serves `/responses` itself) touches only `model`: usage always arrives in
`response.completed`, so nothing needs forcing for billing. Translation reads the item list into the
neutral model: messages, `function_call` / `custom_tool_call` items and their outputs, reasoning items.
"""

from __future__ import annotations

from typing import Any

from onegate import errors
from onegate.dialects import canonical as c
from onegate.dialects.openai_chat.request import image_from_url, image_to_url
from onegate.dialects.openai_responses.response import thinking_from_encrypted
from onegate.dialects.openai_responses.tools import custom_arguments, flat_name, tools_to_canonical
from onegate.dialects.openai_responses.wire import ResponsesRequest
from onegate.dialects.schema import check_model_name
from onegate.dialects.schema import validate as validate_schema
from onegate.errors import GatewayError

_EFFORTS = ("minimal", "low", "medium", "high")
# Conversation state kept by OpenAI's servers: a translating exchange has no stored responses to resume.
_STATEFUL = ("previous_response_id", "conversation", "prompt")


def validate(body: dict[str, Any]) -> str:
    """Check what every `/responses` request needs; returns the requested model."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise GatewayError(errors.INVALID_REQUEST, "Missing required parameter: 'model'.", param="model")
    check_model_name(model)
    if "input" in body and not isinstance(body["input"], str | list):
        raise GatewayError(errors.INVALID_REQUEST, "'input' must be a string or an array of items.", param="input")
    if "input" not in body and not any(body.get(name) for name in _STATEFUL):
        raise GatewayError(errors.INVALID_REQUEST, "Missing required parameter: 'input'.", param="input")
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise GatewayError(errors.INVALID_REQUEST, "'stream' must be a boolean.", param="stream")
    validate_schema(body, ResponsesRequest)
    return model


def looks_like_responses(body: dict[str, Any]) -> bool:
    """A Responses-shaped body (Cursor sends these to /chat/completions): `input` and no `messages`."""
    return "input" in body and "messages" not in body


def patch_for_upstream(body: dict[str, Any], upstream_model: str, stream: bool) -> dict[str, Any]:
    body["model"] = upstream_model
    return body


# Responses → neutral ---------------------------------------------------------------------------------


def _unsupported(part: str, model: str) -> GatewayError:
    return GatewayError(
        errors.INVALID_REQUEST,
        f"Input of type '{part}' cannot be sent to the model '{model}': its upstream does not serve the "
        "Responses API, and Chat Completions has no place for it.",
        param="input",
    )


def content_to_canonical(content: Any, model: str) -> list[c.TextPart | c.ImagePart]:
    if isinstance(content, str):
        return [c.TextPart(content)] if content else []
    if isinstance(content, dict):  # a computer call's screenshot and the like
        raise _unsupported(str(content.get("type")), model)
    parts: list[c.TextPart | c.ImagePart] = []
    for part in content or []:
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append(c.TextPart(part.get("text", "")))
        elif kind == "refusal":
            parts.append(c.TextPart(part.get("refusal", "")))
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            parts.append(image_from_url(part["image_url"]))
        else:  # input_file, input_audio, an image by file_id: only OpenAI itself can resolve those
            raise _unsupported(str(kind), model)
    return parts


def _assistant(messages: list[c.Message]) -> c.Message:
    """The assistant turn being built: consecutive output items (reasoning, text, calls) form one turn."""
    if not messages or messages[-1].role != "assistant":
        messages.append(c.Message("assistant", []))
    return messages[-1]


def _results(messages: list[c.Message]) -> c.Message:
    """Tool outputs that follow each other answer one assistant turn, so they share one user turn."""
    last = messages[-1] if messages else None
    if last is None or last.role != "user" or not all(isinstance(p, c.ToolResultPart) for p in last.parts):
        messages.append(c.Message("user", []))
    return messages[-1]


def _reasoning_text(item: dict[str, Any]) -> str:
    summary = [s.get("text", "") for s in item.get("summary") or [] if isinstance(s, dict)]
    content = [s.get("text", "") for s in item.get("content") or [] if isinstance(s, dict)]
    return "\n\n".join(t for t in (summary or content) if t)


def _read_items(items: list[dict[str, Any]], req: c.CanonicalRequest) -> None:
    messages = req.messages
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role", "user")
            parts = content_to_canonical(item.get("content"), req.model)
            if role in ("system", "developer"):
                texts = [p for p in parts if isinstance(p, c.TextPart)]
                if messages:
                    messages.append(c.Message("system", list(texts)))
                else:
                    req.system.extend(texts)
            elif role == "assistant":
                _assistant(messages).parts.extend(parts)
            else:
                messages.append(c.Message("user", list(parts)))
        elif kind == "function_call":
            name = flat_name(item.get("namespace"), item.get("name", ""))
            _assistant(messages).parts.append(
                c.ToolCallPart(item.get("call_id", ""), name, item.get("arguments") or "{}")
            )
        elif kind == "custom_tool_call":
            name = flat_name(item.get("namespace"), item.get("name", ""))
            arguments = custom_arguments(item.get("input", ""))
            _assistant(messages).parts.append(c.ToolCallPart(item.get("call_id", ""), name, arguments))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            output = content_to_canonical(item.get("output"), req.model)
            _results(messages).parts.append(c.ToolResultPart(item.get("call_id", ""), output))
        elif kind == "reasoning":
            text = _reasoning_text(item)
            encrypted = item.get("encrypted_content")
            part = thinking_from_encrypted(text, encrypted) if isinstance(encrypted, str) else None
            if part is None and encrypted:
                req.notes.append("encrypted reasoning dropped (only OpenAI's Responses API can read it)")
            if part is None and text:
                part = c.ThinkingPart(text)
            if part is not None:
                _assistant(messages).parts.append(part)
        elif kind == "item_reference":
            raise _stateful("item_reference", req.model)
        else:  # web_search_call and other hosted-tool records: nothing a translated upstream can use
            req.notes.append(f"input item '{kind}' dropped")


def _stateful(param: str, model: str) -> GatewayError:
    return GatewayError(
        errors.INVALID_REQUEST,
        f"'{param}' needs stored responses, which the model '{model}' does not have: its upstream does not "
        "serve the Responses API. Send the whole conversation in 'input' (with store: false).",
        param=param,
    )


def _tool_choice(choice: Any) -> c.ToolChoice | None:
    if choice in ("auto", "none", "required"):
        return c.ToolChoice(choice)
    if isinstance(choice, dict):
        if choice.get("type") in ("function", "custom") and choice.get("name"):
            return c.ToolChoice("tool", choice["name"])
        if choice.get("type") == "allowed_tools" and choice.get("mode") in ("auto", "required"):
            return c.ToolChoice(choice["mode"])
    return None  # a hosted tool forced by type: left to the model


def _response_format(text: Any) -> dict[str, Any] | None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        return {"type": "json_schema", "name": fmt.get("name", "response"), "schema": fmt.get("schema", {})}
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    return None


def to_canonical(body: dict[str, Any]) -> c.CanonicalRequest:
    model = body["model"]
    for param in _STATEFUL:
        if body.get(param):
            raise _stateful(param, model)
    reasoning = v if isinstance(v := body.get("reasoning"), dict) else {}
    effort = reasoning.get("effort")
    req = c.CanonicalRequest(
        model=model,
        messages=[],
        tools=tools_to_canonical(body.get("tools") or []),
        tool_choice=_tool_choice(body.get("tool_choice")),
        parallel_tool_calls=body.get("parallel_tool_calls"),
        max_tokens=body.get("max_output_tokens"),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stream=body.get("stream") is True,
        reasoning=c.Reasoning(effort=effort if effort in _EFFORTS else None, summary=reasoning.get("summary"))
        if reasoning
        else None,
        response_format=_response_format(body.get("text")),
        user=body.get("user"),
    )
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        req.system.append(c.TextPart(body["instructions"]))
    items = body.get("input")
    _read_items([{"role": "user", "content": items}] if isinstance(items, str) else items or [], req)
    return req


# Neutral → Responses (for an upstream that speaks only Responses) ---------------------------------------


def _content_from_canonical(parts: list[c.Part], text_type: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, c.TextPart):
            out.append({"type": text_type, "text": p.text})
        elif isinstance(p, c.ImagePart):
            out.append({"type": "input_image", "image_url": image_to_url(p), "detail": "auto"})
    return out


def _items_from_canonical(req: c.CanonicalRequest) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in req.messages:
        if message.role == "assistant":
            text = c.text_of(message.parts)
            if text:
                items.append({"role": "assistant", "content": [{"type": "output_text", "text": text}]})
            for p in message.parts:
                if isinstance(p, c.ToolCallPart):
                    items.append({"type": "function_call", "call_id": p.id, "name": p.name, "arguments": p.arguments})
            if any(isinstance(p, c.ThinkingPart) for p in message.parts):
                req.notes.append("thinking in the history was dropped (Responses takes back only its own reasoning)")
            continue
        rest: list[c.Part] = []
        for p in message.parts:
            if isinstance(p, c.ToolResultPart):
                output: Any = c.text_of(list(p.content))
                if any(isinstance(q, c.ImagePart) for q in p.content):
                    output = _content_from_canonical(list(p.content), "input_text")
                items.append({"type": "function_call_output", "call_id": p.call_id, "output": output})
            else:
                rest.append(p)
        if rest:
            items.append({"role": message.role, "content": _content_from_canonical(rest, "input_text")})
    return items


def _tool_from_canonical(tool: c.Tool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "name": tool.name, "parameters": tool.parameters}
    if tool.description:
        out["description"] = tool.description
    return out


def from_canonical(req: c.CanonicalRequest, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": _items_from_canonical(req), "store": False}
    if req.system:
        body["instructions"] = c.text_of(list(req.system))
    if req.tools:
        body["tools"] = [_tool_from_canonical(t) for t in req.tools]
        if req.tool_choice is not None:
            body["tool_choice"] = (
                {"type": "function", "name": req.tool_choice.name}
                if req.tool_choice.mode == "tool"
                else req.tool_choice.mode
            )
        if req.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = req.parallel_tool_calls
    if req.max_tokens is not None:
        body["max_output_tokens"] = req.max_tokens
    for name in ("temperature", "top_p", "user"):
        value = getattr(req, name)
        if value is not None:
            body[name] = value
    if req.stop:
        req.notes.append("stop sequences dropped (the Responses API has none)")
    if req.reasoning is not None and (req.reasoning.effort or req.reasoning.summary):
        body["reasoning"] = {
            k: v for k, v in (("effort", req.reasoning.effort), ("summary", req.reasoning.summary)) if v
        }
    if req.response_format is not None:
        fmt = dict(req.response_format)
        if fmt.get("type") == "json_schema":
            fmt.setdefault("name", "response")
        body["text"] = {"format": fmt}
    if req.stream:
        body["stream"] = True
    return body
