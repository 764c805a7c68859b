"""Reading and patching OpenAI request bodies.

Same dialect in and out is a pass-through: only `model` is replaced and, on streams,
`stream_options.include_usage` forced on so the request can be billed.
"""

from __future__ import annotations

from typing import Any

from onegate import errors
from onegate.errors import GatewayError

# Which field names the input on each endpoint, for the "missing field" error.
REQUIRED_FIELDS = {
    "chat": ("messages",),
    "completions": ("prompt",),
    "embeddings": ("input",),
}


def require_fields(body: dict[str, Any], endpoint: str) -> str:
    """Check the fields every request of `endpoint` needs; returns the requested model."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise GatewayError(errors.INVALID_REQUEST, "Missing required parameter: 'model'.", param="model")
    for name in REQUIRED_FIELDS[endpoint]:
        if name not in body:
            raise GatewayError(errors.INVALID_REQUEST, f"Missing required parameter: '{name}'.", param=name)
    if endpoint == "chat" and not isinstance(body["messages"], list):
        raise GatewayError(errors.INVALID_REQUEST, "'messages' must be an array.", param="messages")
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise GatewayError(errors.INVALID_REQUEST, "'stream' must be a boolean.", param="stream")
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
