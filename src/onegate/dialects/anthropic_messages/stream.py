"""Anthropic Messages event streams: pass-through relay, decoder to neutral events, encoder from them.

Every event is named (`event: message_start` …): Anthropic's SDKs ignore events without a name, so
a data-only stream reads as an empty reply. Usage arrives twice, prompt side in `message_start` and
cumulative totals in `message_delta`; the stream ends with `message_stop`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from onegate.accounting.usage import Usage
from onegate.dialects import canonical as c
from onegate.dialects.anthropic_messages.errors import error_event, parse_upstream_error
from onegate.dialects.anthropic_messages.request import estimate_input_tokens
from onegate.dialects.anthropic_messages.response import WIRE_TO_STOP, message_id, usage_from_wire, usage_to_wire
from onegate.dialects.protocols import UpstreamStreamError
from onegate.errors import GatewayError
from onegate.sse import named_event_json

PING = b'event: ping\ndata: {"type": "ping"}\n\n'
_DELTA_KINDS: dict[str, tuple[str, str]] = {  # wire delta type → (neutral kind, field holding the value)
    "text_delta": ("text", "text"),
    "thinking_delta": ("thinking", "thinking"),
    "signature_delta": ("signature", "signature"),
    "input_json_delta": ("arguments", "partial_json"),
}
_WIRE_DELTA = {kind: (wire, field) for wire, (kind, field) in _DELTA_KINDS.items()}


def _raise_stream_error(data: dict[str, Any] | None) -> None:
    message, _code = parse_upstream_error(orjson.dumps(data or {}))
    raise UpstreamStreamError(message)


class MessagesStreamRelay:
    """Pass-through: every event forwarded byte for byte; usage read from message_start/message_delta."""

    __slots__ = ("usage", "done", "events")

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.done = False
        self.events = 0

    def feed(self, event: bytes) -> bytes | None:
        self.events += 1
        if event.startswith(b"event: content_block"):  # the bulk of a stream: nothing to read
            return event
        name, data = named_event_json(event)
        if name == "message_start" and data:
            self.usage = usage_from_wire((data.get("message") or {}).get("usage"))
        elif name == "message_delta" and data:
            self.usage = usage_from_wire(data.get("usage"), self.usage) or self.usage
        elif name == "message_stop":
            self.done = True
        elif name == "error":
            _raise_stream_error(data)
        return event

    def end(self) -> bytes:
        return b""

    def fail(self, error: GatewayError, request_id: str) -> bytes:
        return error_event(error, request_id)

    def keepalive(self) -> bytes:
        return PING


# Translation: Messages SSE from an upstream → neutral events -----------------------------------------


class MessagesStreamDecoder:
    """Anthropic's events map one to one onto the neutral block events; server-tool blocks are skipped."""

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.done = False
        self.events = 0
        self._stop: str | None = None
        self._stop_sequence: str | None = None
        self._open: list[int] = []
        self._skipped: set[int] = set()

    def feed(self, event: bytes) -> list[c.StreamEvent]:
        self.events += 1
        name, data = named_event_json(event)
        kind = (data or {}).get("type") or name
        if kind == "error":
            _raise_stream_error(data)
        if data is None:
            return []
        if kind == "message_start":
            message = data.get("message") or {}
            self.usage = usage_from_wire(message.get("usage"))
            start_usage = replace(self.usage) if self.usage else None
            return [c.StreamStart(str(message.get("id", "")), str(message.get("model", "")), start_usage)]
        if kind == "content_block_start":
            return self._start(int(data.get("index", 0)), data.get("content_block") or {})
        if kind == "content_block_delta":
            return self._delta(int(data.get("index", 0)), data.get("delta") or {})
        if kind == "content_block_stop":
            index = int(data.get("index", 0))
            if index in self._skipped or index not in self._open:
                return []
            self._open.remove(index)
            return [c.BlockStop(index)]
        if kind == "message_delta":
            delta = data.get("delta") or {}
            self._stop = delta.get("stop_reason") or self._stop
            self._stop_sequence = delta.get("stop_sequence") or self._stop_sequence
            self.usage = usage_from_wire(data.get("usage"), self.usage) or self.usage
            return []
        if kind == "message_stop":
            return self.finish()
        return []  # ping, and event types added after this was written

    def _start(self, index: int, block: dict[str, Any]) -> list[c.StreamEvent]:
        kind = block.get("type")
        part: c.TextPart | c.ThinkingPart | c.ToolCallPart
        if kind == "text":
            part = c.TextPart("")
        elif kind == "thinking":
            part = c.ThinkingPart("")
        elif kind == "redacted_thinking":
            part = c.ThinkingPart("", redacted_data=block.get("data"))
        elif kind == "tool_use":
            part = c.ToolCallPart(str(block.get("id", "")), str(block.get("name", "")), "")
        else:
            self._skipped.add(index)
            return []
        self._open.append(index)
        out: list[c.StreamEvent] = [c.BlockStart(index, part)]
        if kind == "text" and block.get("text"):
            out.append(c.BlockDelta(index, "text", block["text"]))
        return out

    def _delta(self, index: int, delta: dict[str, Any]) -> list[c.StreamEvent]:
        known = _DELTA_KINDS.get(delta.get("type", ""))
        if index in self._skipped or known is None:
            return []  # citations_delta and the like have no neutral form
        kind, field = known
        value = str(delta.get(field) or "")
        # Anthropic opens every tool input with an empty partial_json; an empty delta carries nothing
        return [c.BlockDelta(index, kind, value)] if value else []  # type: ignore[arg-type]

    def finish(self) -> list[c.StreamEvent]:
        if self.done:
            return []
        self.done = True
        stops: list[c.StreamEvent] = [c.BlockStop(i) for i in self._open]
        self._open = []
        stop = WIRE_TO_STOP.get(self._stop or "end_turn", "end_turn")
        return [*stops, c.StreamEnd(stop, self.usage, self._stop_sequence)]

    @property
    def finished_cleanly(self) -> bool:
        """An upstream that sent its stop reason but no message_stop still ended its answer."""
        return self.done or self._stop is not None


# Translation: neutral events → Messages SSE for the client -------------------------------------------


def _event(name: bytes, data: dict[str, Any]) -> bytes:
    return b"event: " + name + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _start_block(part: c.TextPart | c.ThinkingPart | c.ToolCallPart) -> dict[str, Any]:
    if isinstance(part, c.ToolCallPart):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": {}}
    if isinstance(part, c.ThinkingPart):
        if part.redacted_data is not None:
            return {"type": "redacted_thinking", "data": part.redacted_data}
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {"type": "text", "text": ""}


class MessagesStreamEncoder:
    """Writes neutral events as Anthropic's named events, from `message_start` to `message_stop`.

    Block indexes are renumbered 0, 1, 2 … in the order blocks open, as the SDKs index their snapshot
    by them. When the upstream does not report the prompt size up front (Chat upstreams report usage
    only at the end), `message_start` carries a local estimate and `message_delta` the real count.
    """

    def __init__(self, model: str, created: int, body: dict[str, Any]) -> None:
        self.model = model
        self._body = body
        self._started = False
        self._indexes: dict[int, int] = {}  # neutral block index → index sent to the client
        self._open: list[int] = []

    def _message_start(self, event: c.StreamStart | None) -> bytes:
        self._started = True
        usage = event.usage if event is not None else None
        if usage is None or not usage.reported:
            usage = Usage(input_tokens=estimate_input_tokens(self._body))
        message: dict[str, Any] = {
            "id": message_id(event.id if event is not None else ""),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_to_wire(usage),
        }
        return _event(b"message_start", {"type": "message_start", "message": message})

    def encode(self, event: c.StreamEvent) -> bytes:
        if isinstance(event, c.StreamStart):
            return b"" if self._started else self._message_start(event)
        head = b"" if self._started else self._message_start(None)
        if isinstance(event, c.BlockStart):
            new = self._indexes[event.index] = len(self._indexes)
            self._open.append(new)
            block = _start_block(event.part)
            return head + _event(
                b"content_block_start", {"type": "content_block_start", "index": new, "content_block": block}
            )
        if isinstance(event, c.BlockDelta):
            index = self._indexes.get(event.index)
            if index is None or index not in self._open:
                return head
            wire, field = _WIRE_DELTA[event.kind]
            delta = {"type": "content_block_delta", "index": index, "delta": {"type": wire, field: event.value}}
            return head + _event(b"content_block_delta", delta)
        if isinstance(event, c.BlockStop):
            index = self._indexes.get(event.index)
            if index is None or index not in self._open:
                return head
            return head + self._stop_block(index)
        if isinstance(event, c.StreamEnd):
            return head + self._end(event)
        return head

    def _stop_block(self, index: int) -> bytes:
        self._open.remove(index)
        return _event(b"content_block_stop", {"type": "content_block_stop", "index": index})

    def _end(self, event: c.StreamEnd) -> bytes:
        out = b"".join(self._stop_block(i) for i in list(self._open))
        usage = usage_to_wire(event.usage) if event.usage is not None else {"output_tokens": 0}
        delta = {"stop_reason": event.stop_reason, "stop_sequence": event.stop_sequence}
        out += _event(b"message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
        return out + _event(b"message_stop", {"type": "message_stop"})

    def fail(self, error: GatewayError, request_id: str) -> bytes:
        return error_event(error, request_id)

    def keepalive(self) -> bytes:
        return PING
