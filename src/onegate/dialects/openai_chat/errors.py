"""OpenAI-shaped errors: render ours, read the upstream's."""

from __future__ import annotations

import orjson

from onegate.errors import GatewayError

# An error body that is not JSON (a proxy's HTML page) is read this far; its words are cut shorter later.
_MAX_TEXT = 64 * 1024


def render_error(error: GatewayError, request_id: str) -> bytes:
    return orjson.dumps(
        {
            "error": {
                "message": error.message,
                "type": error.kind.openai_type,
                "param": error.param,
                "code": error.kind.code,
                "request_id": request_id,
            }
        }
    )


def parse_upstream_error(body: bytes) -> tuple[str, str | None]:
    """(message, code) from an upstream's error body, whatever shape it has. Raw upstream words: the caller
    cleans them (`UpstreamText.clean`) before they go anywhere."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:_MAX_TEXT] or "(empty body)"), None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            code = err.get("code") or err.get("type")
            return str(err.get("message") or err), (str(code) if code else None)
        if isinstance(err, str):
            return err, None
        if "message" in data:
            return str(data["message"]), None
        if "detail" in data:
            return str(data["detail"]), None
    return body.decode("utf-8", "replace")[:_MAX_TEXT], None
