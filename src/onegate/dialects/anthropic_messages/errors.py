"""Anthropic-shaped errors: `{"type":"error","error":{"type","message"},"request_id"}`."""

from __future__ import annotations

import orjson

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
