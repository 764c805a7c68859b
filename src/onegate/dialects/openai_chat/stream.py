"""Pass-through of an OpenAI event stream, one SSE event at a time.

Events are forwarded byte for byte. The relay reads usage as it goes and drops the usage-only chunk
(`"choices": []`) when onegate asked for it on the client's behalf and the client did not. An upstream's
error event (`data: {"error": …}`) is never forwarded: its words may repeat onegate's credential, so
forwarding ends the stream with onegate's own error event instead.
"""

from __future__ import annotations

import orjson

from onegate.accounting.usage import Usage, usage_from_openai
from onegate.dialects import canonical as c
from onegate.dialects.openai_chat.errors import render_error
from onegate.dialects.openai_chat.response import FINISH_TO_STOP, STOP_TO_FINISH, usage_to_openai
from onegate.dialects.protocols import UpstreamStreamError
from onegate.errors import GatewayError
from onegate.sse import event_json

DONE = b"data: [DONE]"
KEEPALIVE = b": keep-alive\n\n"  # an SSE comment: every parser skips it, proxies see bytes flowing


class ChatStreamRelay:
    """Per-request state: feed each complete SSE event, forward what it returns."""

    __slots__ = ("client_wants_usage", "usage", "done", "events")

    def __init__(self, client_wants_usage: bool) -> None:
        self.client_wants_usage = client_wants_usage
        self.usage: Usage | None = None
        self.done = False
        self.events = 0

    def end(self) -> bytes:
        return b""

    def fail(self, error: GatewayError, request_id: str) -> bytes:
        return error_event(error, request_id)

    def keepalive(self) -> bytes:
        return KEEPALIVE

    def feed(self, event: bytes) -> bytes | None:
        """Returns the event to forward, or None to drop it."""
        self.events += 1
        if event.startswith(DONE):
            self.done = True
            return event
        # `"error"` cannot occur inside a JSON string (its quotes would be escaped): only as a key.
        if b'"error"' in event:
            raise_stream_error(event_json(event))
        if b'"usage"' not in event or b'"usage":null' in event:
            return event
        payload = event_json(event)
        if payload is None:
            return event
        usage = usage_from_openai(payload.get("usage"))
        if usage is not None:
            self.usage = usage
            if not self.client_wants_usage and payload.get("choices") == []:
                return None
        return event


def raise_stream_error(payload: dict | None) -> None:
    """Raise the upstream's in-stream error (`{"error": {...}}`), if `payload` is one."""
    error = payload.get("error") if payload is not None else None
    if isinstance(error, dict):
        raise UpstreamStreamError(str(error.get("message") or error))
    if isinstance(error, str) and error:
        raise UpstreamStreamError(error)


def error_event(error: GatewayError, request_id: str) -> bytes:
    """An error after the first byte: the shape openai's SDKs raise from (`data: {"error": …}`)."""
    return b"data: " + render_error(error, request_id) + b"\n\n"


# Translation: Chat SSE from an upstream → neutral events ------------------------------------------


class ChatStreamDecoder:
    """Turns an upstream's Chat Completions chunks into neutral block events, one SSE event at a time.

    Chat has no blocks, so they are inferred: reasoning deltas open a thinking block, content deltas a
    text block, each tool-call index its own tool block; a change of kind closes the open block.
    """

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.done = False
        self.events = 0
        self._started = False
        self._open: int | None = None  # block index currently open
        self._open_kind: str | None = None
        self._tool_blocks: dict[int, int] = {}  # chat tool index → block index
        self._next = 0
        self._finish: str | None = None

    def feed(self, event: bytes) -> list[c.StreamEvent]:
        self.events += 1
        if event.startswith(DONE):
            return self.finish()
        payload = event_json(event)
        if payload is None:
            return []
        raise_stream_error(payload)
        out: list[c.StreamEvent] = []
        if not self._started:
            self._started = True
            out.append(c.StreamStart(id=str(payload.get("id", "")), model=str(payload.get("model", ""))))
        usage = usage_from_openai(payload.get("usage"))
        if usage is not None:
            self.usage = usage
        for choice in payload.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                out += self._delta("thinking", reasoning)
            if delta.get("content"):
                out += self._delta("text", delta["content"])
            for call in delta.get("tool_calls") or []:
                out += self._tool_delta(call)
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return out

    def _close(self) -> list[c.StreamEvent]:
        if self._open is None:
            return []
        index, self._open, self._open_kind = self._open, None, None
        return [c.BlockStop(index)]

    def _delta(self, kind: str, value: str) -> list[c.StreamEvent]:
        out: list[c.StreamEvent] = []
        if self._open_kind != kind:
            out += self._close()
            self._open, self._open_kind = self._next, kind
            self._next += 1
            part = c.ThinkingPart("") if kind == "thinking" else c.TextPart("")
            out.append(c.BlockStart(self._open, part))
        out.append(c.BlockDelta(self._open, kind, value))  # type: ignore[arg-type]
        return out

    def _tool_delta(self, call: dict) -> list[c.StreamEvent]:
        out: list[c.StreamEvent] = []
        tool_index = call.get("index", 0)
        function = call.get("function") or {}
        if tool_index not in self._tool_blocks:
            out += self._close()
            block = self._tool_blocks[tool_index] = self._next
            self._next += 1
            self._open, self._open_kind = block, f"tool{tool_index}"
            out.append(
                c.BlockStart(block, c.ToolCallPart(call.get("id") or f"call_{block}", function.get("name", ""), ""))
            )
        if function.get("arguments"):
            out.append(c.BlockDelta(self._tool_blocks[tool_index], "arguments", function["arguments"]))
        return out

    def finish(self) -> list[c.StreamEvent]:
        """The end of the stream: close the open block and report why it stopped."""
        if self.done:
            return []
        self.done = True
        stop = FINISH_TO_STOP.get(self._finish or "stop", "end_turn")
        return [*self._close(), c.StreamEnd(stop, self.usage)]

    @property
    def finished_cleanly(self) -> bool:
        """An upstream that sent a finish reason but no [DONE] still ended its answer."""
        return self.done or self._finish is not None


# Translation: neutral events → Chat SSE for the client ---------------------------------------------


class ChatStreamEncoder:
    """Writes neutral events as Chat Completions chunks, ending with `data: [DONE]`."""

    def __init__(self, model: str, created: int, include_usage: bool) -> None:
        self.model = model
        self.created = created
        self.include_usage = include_usage
        self._id = "chatcmpl-onegate"
        self._tool_ordinal: dict[int, int] = {}  # block index → tool_calls index

    def _chunk(self, delta: dict, finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _event(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [choice],
            }
        )

    def encode(self, event: c.StreamEvent) -> bytes:
        if isinstance(event, c.StreamStart):
            self._id = event.id if event.id.startswith("chatcmpl") else f"chatcmpl-{event.id}"
            return self._chunk({"role": "assistant", "content": ""})
        if isinstance(event, c.BlockStart):
            if isinstance(event.part, c.ToolCallPart):
                ordinal = self._tool_ordinal[event.index] = len(self._tool_ordinal)
                call = {
                    "index": ordinal,
                    "id": event.part.id,
                    "type": "function",
                    "function": {"name": event.part.name, "arguments": ""},
                }
                return self._chunk({"tool_calls": [call]})
            return b""
        if isinstance(event, c.BlockDelta):
            if event.kind == "text":
                return self._chunk({"content": event.value})
            if event.kind == "thinking":
                return self._chunk({"reasoning_content": event.value})
            if event.kind == "arguments":
                call = {"index": self._tool_ordinal.get(event.index, 0), "function": {"arguments": event.value}}
                return self._chunk({"tool_calls": [call]})
            return b""  # signatures have no place in Chat
        if isinstance(event, c.StreamEnd):
            out = self._chunk({}, STOP_TO_FINISH[event.stop_reason])
            if self.include_usage:
                usage = usage_to_openai(event.usage or Usage())
                out += _event(
                    {
                        "id": self._id,
                        "object": "chat.completion.chunk",
                        "created": self.created,
                        "model": self.model,
                        "choices": [],
                        "usage": usage,
                    }
                )
            return out + b"data: [DONE]\n\n"
        return b""

    def fail(self, error: GatewayError, request_id: str) -> bytes:
        return error_event(error, request_id)

    def keepalive(self) -> bytes:
        return KEEPALIVE


def _event(data: dict) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"
