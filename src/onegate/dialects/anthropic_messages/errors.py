"""Anthropic-shaped errors: render ours as `{"type":"error","error":{"type","message"},"request_id"}`,
and read an Anthropic upstream's (before the first byte, or as an `event: error` inside a stream)."""

from __future__ import annotations

import orjson

from onegate.dialects.openai_chat import errors as generic
from onegate.errors import GatewayError


def render_error(error: GatewayError, request_id: str) -> bytes:
    return orjson.dumps(
        {
            "type": "error",
            "error": {"type": error.kind.anthropic_type, "message": error.message},
            "request_id": request_id,
        }
    )


def error_event(error: GatewayError, request_id: str) -> bytes:
    """An error after the first byte: a named `error` event, as Anthropic's SDKs expect."""
    return b"event: error\ndata: " + render_error(error, request_id) + b"\n\n"


def parse_upstream_error(body: bytes) -> tuple[str, str | None]:
    """(message, error type) from an Anthropic error body; any other shape is read the generic way."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        kind = error.get("type")
        return error["message"], (str(kind) if kind else None)
    return generic.parse_upstream_error(body)
