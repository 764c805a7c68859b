"""Responses event streams: pass-through relay, decoder (upstream → neutral) and encoder (neutral → client).

Every event is written as `event: <type>` + `data: {…}` with a `sequence_number` one higher than the last.
The encoder writes the full sequence a Responses parser expects — an item is announced
(`output_item.added`), filled by deltas, and finished (`output_item.done` with the complete item, which is
what Codex keeps in its history) — and always ends in `response.completed`, `response.incomplete` or
`response.failed`: Codex fails a turn whose stream just stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from onegate.accounting.usage import Usage
from onegate.dialects import canonical as c
from onegate.dialects.openai_responses.errors import failure_of
from onegate.dialects.openai_responses.response import (
    INCOMPLETE_REASONS,
    call_item,
    encrypted_of,
    item_id,
    message_item,
    reasoning_item,
    response_id,
    response_object,
    stop_reason_of,
    text_part,
    usage_from_responses,
    wants_encrypted,
)
from onegate.dialects.openai_responses.tools import CallTarget, CallTargets, flat_name
from onegate.dialects.protocols import UpstreamStreamError
from onegate.errors import GatewayError
from onegate.sse import event_json

# Events the pass-through relay reads; `"error"` (only ever a key: quotes inside strings are escaped) also
# catches a bare `error` event.
_TERMINAL = (b"response.completed", b"response.incomplete", b"response.failed", b'"error"')


def sse(event_type: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event_type.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def keepalive_event(sequence_number: int) -> bytes:
    # OpenAI sends this (undocumented) during long silences; Codex's idle timer only resets on a real event.
    return sse("keepalive", {"type": "keepalive", "sequence_number": sequence_number})


def _error_message(payload: dict[str, Any]) -> str:
    error = payload.get("error")
    if not isinstance(error, dict):
        error = (payload.get("response") or {}).get("error") or {}
    return str(error.get("message") or payload.get("message") or "response failed")


# Pass-through --------------------------------------------------------------------------------------


class ResponsesStreamRelay:
    """Forwards an upstream's Responses stream byte for byte, reading usage from its last event.

    The upstream's own `response.failed` or `error` event is never forwarded (its words may repeat
    onegate's credential): forwarding ends the stream with a `response.failed` of onegate's own.
    """

    __slots__ = ("usage", "done", "events", "_last", "_response_id")

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.done = False
        self.events = 0
        self._last = b""  # the last event forwarded: its sequence number is read only when needed
        self._response_id = ""

    def feed(self, event: bytes) -> bytes | None:
        self.events += 1
        if self.events == 1 or any(name in event for name in _TERMINAL):
            payload = event_json(event) or {}
            kind = payload.get("type")
            response = v if isinstance(v := payload.get("response"), dict) else {}
            self._response_id = self._response_id or str(response.get("id", ""))
            if kind in ("response.completed", "response.incomplete"):
                self.usage = usage_from_responses(response.get("usage"))
                self.done = True
            elif kind in ("response.failed", "error"):
                self.usage = usage_from_responses(response.get("usage"))
                raise UpstreamStreamError(_error_message(payload))
        self._last = event
        return event

    def _next_sequence(self) -> int:
        payload = event_json(self._last) if self._last else None
        number = payload.get("sequence_number") if payload else None
        return number + 1 if isinstance(number, int) else self.events

    def end(self) -> bytes:
        return b""

    def keepalive(self) -> bytes:
        if not self._last:  # nothing forwarded yet: an event before response.created would break parsers
            return b": keep-alive\n\n"
        return keepalive_event(self._next_sequence())

    def fail(self, error: GatewayError, request_id: str) -> bytes:
        response = {
            "id": self._response_id or f"resp_{request_id}",
            "object": "response",
            "status": "failed",
            "error": failure_of(error),
        }
        data = {"type": "response.failed", "sequence_number": self._next_sequence(), "response": response}
        return sse("response.failed", data)


# Upstream Responses stream → neutral events ------------------------------------------------------------


class ResponsesStreamDecoder:
    """Turns an upstream's Responses events into neutral block events, one SSE event at a time."""

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.done = False
        self.events = 0
        self._started = False
        self._open: int | None = None
        self._open_key: tuple[int, str] | None = None  # (output_index, kind)
        self._next = 0
        self._deltas: set[int] = set()  # blocks that received deltas (else the item carries the content)
        self._custom: set[int] = set()  # blocks standing for a custom tool call (JSON-wrapped input)
        self._tool_calls = False

    def feed(self, event: bytes) -> list[c.StreamEvent]:
        self.events += 1
        payload = event_json(event)
        if payload is None:
            return []
        kind = payload.get("type", "")
        out: list[c.StreamEvent] = []
        if not self._started and kind.startswith("response."):
            self._started = True
            response = payload.get("response") or {}
            out.append(c.StreamStart(id=str(response.get("id", "")), model=str(response.get("model", ""))))
        index = payload.get("output_index", 0)
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            out += self._delta(index, "text", payload.get("delta", ""))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            out += self._delta(index, "thinking", payload.get("delta", ""))
        elif kind == "response.reasoning_summary_part.added" and payload.get("summary_index", 0) > 0:
            out += self._delta(index, "thinking", "\n\n")
        elif kind == "response.output_item.added":
            out += self._item_added(index, payload.get("item") or {})
        elif kind == "response.function_call_arguments.delta":
            out += self._delta(index, "arguments", payload.get("delta", ""))
        elif kind == "response.custom_tool_call_input.delta":
            out += self._delta(index, "arguments", orjson.dumps(payload.get("delta", "")).decode()[1:-1])
        elif kind == "response.output_item.done":
            out += self._item_done(index, payload.get("item") or {})
        elif kind in ("response.completed", "response.incomplete"):
            response = payload.get("response") or {}
            self.usage = usage_from_responses(response.get("usage"))
            stop = stop_reason_of(response.get("status"), response.get("incomplete_details"), [])
            if stop == "end_turn" and self._tool_calls:
                stop = "tool_use"
            self.done = True
            out += [*self._close(), c.StreamEnd(stop, self.usage)]
        elif kind in ("response.failed", "error"):
            raise UpstreamStreamError(_error_message(payload))
        return out

    def _close(self) -> list[c.StreamEvent]:
        if self._open is None:
            return []
        block = self._open
        out: list[c.StreamEvent] = []
        if block in self._custom:
            out.append(c.BlockDelta(block, "arguments", '"}'))
        self._open = self._open_key = None
        return [*out, c.BlockStop(block)]

    def _start(self, index: int, kind: str, part: c.TextPart | c.ThinkingPart | c.ToolCallPart) -> list[c.StreamEvent]:
        out = self._close()
        self._open, self._open_key = self._next, (index, kind)
        self._next += 1
        return [*out, c.BlockStart(self._open, part)]

    def _delta(self, index: int, kind: str, value: str) -> list[c.StreamEvent]:
        out: list[c.StreamEvent] = []
        if self._open_key != (index, kind):
            if kind == "arguments":
                return []  # arguments for a call that never started: nothing to attach them to
            out += self._start(index, kind, c.TextPart("") if kind == "text" else c.ThinkingPart(""))
        assert self._open is not None
        self._deltas.add(self._open)
        if value:
            out.append(c.BlockDelta(self._open, kind, value))  # type: ignore[arg-type]
        return out

    def _item_added(self, index: int, item: dict[str, Any]) -> list[c.StreamEvent]:
        if item.get("type") not in ("function_call", "custom_tool_call"):
            return []
        self._tool_calls = True
        name = flat_name(item.get("namespace"), item.get("name", ""))
        out = self._start(index, "arguments", c.ToolCallPart(item.get("call_id", ""), name, ""))
        if item.get("type") == "custom_tool_call":
            assert self._open is not None
            self._custom.add(self._open)
            out.append(c.BlockDelta(self._open, "arguments", '{"input":"'))
        return out

    def _item_done(self, index: int, item: dict[str, Any]) -> list[c.StreamEvent]:
        """Close the item's block; content an upstream sent only in the finished item is emitted here."""
        kind = item.get("type")
        out: list[c.StreamEvent] = []
        if kind == "message" and (self._open_key is None or self._open_key[0] != index):
            text = "".join(p.get("text") or p.get("refusal") or "" for p in item.get("content") or [])
            if text:
                out += self._delta(index, "text", text)
        elif kind == "reasoning" and (self._open_key is None or self._open_key[0] != index):
            text = "\n\n".join(s.get("text", "") for s in item.get("summary") or [] if s.get("text"))
            if text:
                out += self._delta(index, "thinking", text)
        elif kind in ("function_call", "custom_tool_call") and self._open not in self._deltas:
            value = item.get("arguments", "") if kind == "function_call" else item.get("input", "")
            if kind == "custom_tool_call":
                value = orjson.dumps(value).decode()[1:-1]
            if value and self._open is not None:
                out.append(c.BlockDelta(self._open, "arguments", value))
        if self._open_key is not None and self._open_key[0] == index:
            out += self._close()
        return out

    def finish(self) -> list[c.StreamEvent]:
        if self.done:
            return []
        self.done = True
        return [*self._close(), c.StreamEnd("tool_use" if self._tool_calls else "end_turn", self.usage)]

    @property
    def finished_cleanly(self) -> bool:
        return self.done


# Neutral events → Responses stream for the client -------------------------------------------------------


@dataclass(slots=True)
class _Item:
    output_index: int
    id: str
    kind: str  # "text" | "thinking" | "call"
    content: str = ""  # text, reasoning or call arguments so far
    call_id: str = ""
    target: CallTarget | None = None
    signature: str = ""  # of a thinking block (Anthropic), kept in encrypted_content when asked for
    redacted: str | None = None


class ResponsesStreamEncoder:
    """Writes neutral events as the Responses event sequence, numbering every event."""

    def __init__(self, model: str, created: int, body: dict[str, Any]) -> None:
        self.model = model
        self.created = created
        self.body = body
        self._targets = CallTargets(body.get("tools"))
        self._keep_signatures = wants_encrypted(body)
        self._sequence = 0
        self._id = response_id("", created)
        self._started = False
        self._items: dict[int, _Item] = {}  # block index → item
        self._output: dict[int, dict[str, Any]] = {}  # output index → finished item

    def _event(self, event_type: str, **fields: Any) -> bytes:
        data = {"type": event_type, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return sse(event_type, data)

    def _response(self, status: str, usage: Usage | None = None, **extra: Any) -> dict[str, Any]:
        output = [self._output[i] for i in sorted(self._output)]
        return response_object(self._id, self.model, self.created, self.body, status, output, usage, **extra)

    def _start(self, upstream_id: str) -> bytes:
        if self._started:  # opened early (a keep-alive before the upstream's first event): keep that id
            return b""
        self._started = True
        self._id = response_id(upstream_id, self.created)
        response = self._response("in_progress")
        return self._event("response.created", response=response) + self._event(
            "response.in_progress", response=response
        )

    def encode(self, event: c.StreamEvent) -> bytes:
        if isinstance(event, c.StreamStart):
            return self._start(event.id)
        if isinstance(event, c.BlockStart):
            return self._block_start(event)
        if isinstance(event, c.BlockDelta):
            return self._block_delta(event)
        if isinstance(event, c.BlockStop):
            return self._block_stop(event.index)
        if isinstance(event, c.StreamEnd):
            out = b"".join(self._block_stop(index) for index in list(self._items))
            reason = INCOMPLETE_REASONS.get(event.stop_reason)
            usage = event.usage or Usage()
            if reason:
                response = self._response("incomplete", usage, incomplete_reason=reason)
                return out + self._event("response.incomplete", response=response)
            return out + self._event("response.completed", response=self._response("completed", usage))
        return b""

    def _block_start(self, event: c.BlockStart) -> bytes:
        index = len(self._output) + len(self._items)
        part = event.part
        if isinstance(part, c.ToolCallPart):
            target = self._targets.target(part.name)
            item = _Item(index, item_id("ctc" if target.custom else "fc", self._id, index), "call", "", part.id, target)
            self._items[event.index] = item
            added = call_item(item.id, part.id, target, "", "in_progress")
            return self._event("response.output_item.added", output_index=index, item=added)
        if isinstance(part, c.ThinkingPart):
            item = self._items[event.index] = _Item(index, item_id("rs", self._id, index), "thinking")
            item.redacted = part.redacted_data
            return self._event(
                "response.output_item.added", output_index=index, item=reasoning_item(item.id, None)
            ) + self._event(
                "response.reasoning_summary_part.added",
                item_id=item.id,
                output_index=index,
                summary_index=0,
                part={"type": "summary_text", "text": ""},
            )
        item = self._items[event.index] = _Item(index, item_id("msg", self._id, index), "text")
        return self._event(
            "response.output_item.added", output_index=index, item=message_item(item.id, None, "in_progress")
        ) + self._event(
            "response.content_part.added", item_id=item.id, output_index=index, content_index=0, part=text_part("")
        )

    def _block_delta(self, event: c.BlockDelta) -> bytes:
        item = self._items.get(event.index)
        if item is None:
            return b""
        if event.kind == "signature":
            item.signature += event.value
            return b""
        item.content += event.value
        where = {"item_id": item.id, "output_index": item.output_index}
        if item.kind == "text":
            return self._event("response.output_text.delta", **where, content_index=0, delta=event.value, logprobs=[])
        if item.kind == "thinking":
            return self._event("response.reasoning_summary_text.delta", **where, summary_index=0, delta=event.value)
        if item.target is not None and item.target.custom:
            return b""  # the JSON-wrapped input is unwrapped once complete
        return self._event("response.function_call_arguments.delta", **where, delta=event.value)

    def _block_stop(self, block: int) -> bytes:
        item = self._items.pop(block, None)
        if item is None:
            return b""
        where = {"item_id": item.id, "output_index": item.output_index}
        if item.kind == "text":
            done = message_item(item.id, item.content)
            out = self._event("response.output_text.done", **where, content_index=0, text=item.content, logprobs=[])
            out += self._event("response.content_part.done", **where, content_index=0, part=text_part(item.content))
        elif item.kind == "thinking":
            encrypted = encrypted_of(item.signature, item.redacted) if self._keep_signatures else None
            done = reasoning_item(item.id, item.content, encrypted)
            part = {"type": "summary_text", "text": item.content}
            out = self._event("response.reasoning_summary_text.done", **where, summary_index=0, text=item.content)
            out += self._event("response.reasoning_summary_part.done", **where, summary_index=0, part=part)
        else:
            assert item.target is not None
            done = call_item(item.id, item.call_id, item.target, item.content)
            if item.target.custom:
                out = self._event("response.custom_tool_call_input.delta", **where, delta=done["input"])
                out += self._event("response.custom_tool_call_input.done", **where, input=done["input"])
            else:
                out = self._event("response.function_call_arguments.done", **where, arguments=item.content)
        self._output[item.output_index] = done
        return out + self._event("response.output_item.done", output_index=item.output_index, item=done)

    def keepalive(self) -> bytes:
        # The response is opened first if the upstream has not spoken yet (OpenRouter, say, sends only SSE
        # comments while it waits): parsers want response.created before anything else.
        out = b"" if self._started else self._start("")
        self._sequence += 1
        return out + keepalive_event(self._sequence - 1)

    def fail(self, error: GatewayError, request_id: str) -> bytes:
        """An error after the first byte: `response.failed`, after `response.created` if none was sent."""
        out = b"" if self._started else self._start("")
        return out + self._event("response.failed", response=self._response("failed", error=failure_of(error)))
