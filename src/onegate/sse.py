"""Server-sent events, the one parser: split a byte stream into complete events without copying more than
needed, and read an event's name and data. The gateway's relays and the golden test runner both use it."""

from __future__ import annotations

from typing import Any

import orjson


class SSESplitter:
    """Feed raw chunks as they arrive; get back each complete event, its blank-line terminator included.

    Events are returned byte for byte as the upstream wrote them, so a pass-through stays faithful.
    """

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        buffer = self._buffer + chunk if self._buffer else chunk
        events: list[bytes] = []
        start = 0
        while True:
            end, width = _boundary(buffer, start)
            if end < 0:
                break
            events.append(buffer[start : end + width])
            start = end + width
        self._buffer = buffer[start:]
        return events

    def rest(self) -> bytes:
        """Bytes after the last complete event (a stream cut mid-event leaves some)."""
        rest, self._buffer = self._buffer, b""
        return rest


def _boundary(buffer: bytes, start: int) -> tuple[int, int]:
    lf = buffer.find(b"\n\n", start)
    crlf = buffer.find(b"\r\n\r\n", start)
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return crlf, 4
    return lf, 2


def event_json(event: bytes) -> dict[str, Any] | None:
    """The JSON object in an event's `data:` lines; None for comments, `[DONE]` or anything not an object."""
    start = event.find(b"data:")
    at_line_start = start == 0 or (start > 0 and event[start - 1] == 10)  # 10: b"\n"
    if at_line_start and event.find(b"\ndata:", start) < 0:
        data = event[start + 5 :]  # the usual single `data:` line; JSON ignores the blank line after it
    else:
        data = b"".join(line[5:].lstrip() for line in event.splitlines() if line.startswith(b"data:"))
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def event_fields(event: bytes) -> tuple[str | None, bytes | None]:
    """(event name, its `data:` lines joined by newlines) of one complete event; data None when it has none."""
    name: str | None = None
    data: list[bytes] = []
    for line in event.splitlines():
        if line.startswith(b"event:"):
            name = line[6:].strip().decode()
        elif line.startswith(b"data:"):
            data.append(line[5:].lstrip())
    return name, b"\n".join(data) if data else None


def named_event_json(event: bytes) -> tuple[str | None, dict[str, Any] | None]:
    """(event name, JSON data) of one complete event; data None when absent or not an object."""
    name, data = event_fields(event)
    if data is None:
        return name, None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return name, None
    return name, value if isinstance(value, dict) else None
