"""Gemini-shaped errors: `{"error":{"code","message","status"}}`."""

from __future__ import annotations

import orjson

from onegate.errors import GatewayError

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def render_error(error: GatewayError, request_id: str) -> bytes:
    status = _STATUS.get(error.status, "UNKNOWN")
    return orjson.dumps({"error": {"code": error.status, "message": error.message, "status": status}})
