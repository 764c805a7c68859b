"""Pass-through of an OpenAI event stream, one SSE event at a time.

Events are forwarded byte for byte. The relay reads usage as it goes and drops the usage-only chunk
(`"choices": []`) when onegate asked for it on the client's behalf and the client did not.
"""

from __future__ import annotations

import orjson

from onegate.accounting.usage import Usage, usage_from_openai

DONE = b"data: [DONE]"


class ChatStreamRelay:
    """Per-request state: feed each complete SSE event, forward what it returns."""

    __slots__ = ("client_wants_usage", "usage", "done", "events", "output_chars")

    def __init__(self, client_wants_usage: bool) -> None:
        self.client_wants_usage = client_wants_usage
        self.usage: Usage | None = None
        self.done = False
        self.events = 0
        self.output_chars = 0  # for an estimate when the upstream never reports usage

    def feed(self, event: bytes) -> bytes | None:
        """Returns the event to forward, or None to drop it."""
        self.events += 1
        if event.startswith(DONE):
            self.done = True
            return event
        self.output_chars += len(event)
        if b'"usage"' not in event or b'"usage":null' in event:
            return event
        payload = _data_of(event)
        if payload is None:
            return event
        usage = usage_from_openai(payload.get("usage"))
        if usage is not None:
            self.usage = usage
            if not self.client_wants_usage and payload.get("choices") == []:
                return None
        return event


def _data_of(event: bytes) -> dict | None:
    data = b"".join(line[5:].lstrip() for line in event.splitlines() if line.startswith(b"data:"))
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def error_event(message: str, code: str, error_type: str = "server_error") -> bytes:
    """An error after the first byte: the shape openai's SDKs raise from (`data: {"error": …}`)."""
    body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return b"data: " + orjson.dumps(body) + b"\n\n"
