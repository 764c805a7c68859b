"""A fake Anthropic API on loopback: Messages, count_tokens and the model list, byte-faithful.

Streams are Anthropic's named events (``event: message_start\\ndata: {...}\\n\\n`` …, a ``ping``
after the first block opens, ``message_stop`` last); errors are ``{"type":"error","error":{…}}``.
It asks for ``x-api-key`` and ``anthropic-version`` as Anthropic does. Replies are deterministic:
a request with tools gets ``tool_use`` (every tool, at most two, with ``parallel_tools``) unless its last
message answers a call, one with ``thinking`` gets a signed thinking block first, anything else gets
``REPLY_TEXT``.

Knobs beyond :class:`FakeVendor`'s: ``cache_read_tokens``, ``cache_creation_tokens``,
``stop_reason`` (force one), ``parallel_tools``, ``error_after`` (N events, then ``event: error``).
"""

from __future__ import annotations

from typing import Any

import orjson

from tests.fakes.vendor import FakeVendor, Handler, split_text, text_len

REPLY_TEXT = "Hello from fake Anthropic."
REPLY_OUTPUT_TOKENS = 7
THINKING_TEXT = "The user greets me; I should greet back."
SIGNATURE = "EqQBCkYIBxgCKkBfakesignature=="
TOOL_INPUT = {"query": "fake"}
TOOL_OUTPUT_TOKENS = 11
MODELS = ("claude-sonnet-4-6", "claude-haiku-4-5")
PING = b'event: ping\ndata: {"type": "ping"}\n\n'


def anthropic_error(message: str, type_: str = "invalid_request_error") -> dict:
    return {"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_fake"}


def input_tokens_for(body: dict) -> int:
    """Deterministic stand-in for tokenisation: prompt chars (system + messages) // 4 + 1."""
    system = body.get("system")
    chars = text_len(system) if system else 0
    chars += sum(text_len(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict))
    return chars // 4 + 1


def _event(data: dict) -> bytes:
    return b"event: " + data["type"].encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class FakeAnthropicUpstream(FakeVendor):
    thread_name = "fake-anthropic"
    cache_read_tokens: int
    cache_creation_tokens: int
    stop_reason: str | None
    parallel_tools: bool
    error_after: int | None

    def reset(self) -> None:
        super().reset()
        self.cache_read_tokens = 0
        self.cache_creation_tokens = 0
        self.stop_reason = None
        self.parallel_tools = False
        self.error_after = None

    # ---- the vendor's rules ------------------------------------------------------

    def route(self, method: str, path: str) -> Handler | None:
        if method != "POST":
            return None
        return {"/v1/messages": self._messages, "/v1/messages/count_tokens": self._count_tokens}.get(path)

    def error_body(self, message: str) -> dict:
        return anthropic_error(message)

    def stream_error_event(self, message: str, path: str) -> bytes:
        return _event(anthropic_error(message, "api_error"))

    def auth_error(self, headers: dict[str, str]) -> dict | None:
        if headers.get("x-api-key") == self.required_api_key:
            return None
        return anthropic_error("invalid x-api-key", "authentication_error")

    def check_body(self, body: dict, headers: dict[str, str]) -> str | None:
        if not headers.get("anthropic-version"):
            return "anthropic-version: header is required"
        if not body.get("model"):
            return "model: Field required"
        return None

    async def serve_other(self, send: Any, method: str, path: str, headers: dict[str, str]) -> bool:
        if method == "GET" and path == "/v1/models":
            data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-09-29T00:00:00Z"} for m in MODELS]
            listing = {"data": data, "has_more": False, "first_id": MODELS[0], "last_id": MODELS[-1]}
            await self.send_json(send, 200, listing)
            return True
        return False

    # ---- endpoints -----------------------------------------------------------------

    async def _count_tokens(self, send: Any, body: dict) -> None:
        await self.send_json(send, 200, {"input_tokens": input_tokens_for(body)})

    def _tools_to_call(self, body: dict) -> list[str]:
        tools, choice = body.get("tools") or [], body.get("tool_choice") or {}
        last = (body.get("messages") or [{}])[-1].get("content")
        answered = isinstance(last, list) and any(b.get("type") == "tool_result" for b in last if isinstance(b, dict))
        if not tools or choice.get("type") == "none" or answered:  # an answered call gets text: agents stop
            return []
        if choice.get("type") == "tool":
            return [choice.get("name", "tool")]
        names = [t.get("name", "tool") for t in tools]
        return names[:2] if self.parallel_tools else names[:1]

    def _blocks(self, body: dict, n: int) -> list[dict]:
        blocks: list[dict] = []
        if (body.get("thinking") or {}).get("type") in ("enabled", "adaptive"):
            blocks.append({"type": "thinking", "thinking": THINKING_TEXT, "signature": SIGNATURE})
        calls = self._tools_to_call(body)
        for i, name in enumerate(calls):
            blocks.append({"type": "tool_use", "id": f"toolu_fake{n:06d}{i}", "name": name, "input": TOOL_INPUT})
        if not calls:
            blocks.append({"type": "text", "text": REPLY_TEXT})
        return blocks

    async def _messages(self, send: Any, body: dict) -> None:
        if not isinstance(body.get("max_tokens"), int):
            return await self.send_json(send, 400, anthropic_error("max_tokens: Field required"))
        if not body.get("messages"):
            return await self.send_json(send, 400, anthropic_error("messages: at least one message is required"))
        n = self.next_id()
        blocks = self._blocks(body, n)
        tools = any(b["type"] == "tool_use" for b in blocks)
        stop = self.stop_reason or ("tool_use" if tools else "end_turn")
        stop_sequence = (body.get("stop_sequences") or ["STOP"])[0] if stop == "stop_sequence" else None
        output = TOOL_OUTPUT_TOKENS if tools else REPLY_OUTPUT_TOKENS
        usage = {
            "input_tokens": input_tokens_for(body),
            "cache_creation_input_tokens": self.cache_creation_tokens,
            "cache_read_input_tokens": self.cache_read_tokens,
            "output_tokens": output,
        }
        message = {
            "id": f"msg_fake{n:012d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": blocks,
            "stop_reason": stop,
            "stop_sequence": stop_sequence,
            "usage": {**usage, "service_tier": "standard"},
        }
        if not body.get("stream"):
            return await self.send_json(send, 200, message)
        events = self._stream_events(message, usage)
        if self.error_after is not None:
            error = anthropic_error("Overloaded", "overloaded_error")
            events = [*events[: self.error_after], _event(error)]
        await self.send_stream(send, events)

    def _stream_events(self, message: dict, usage: dict) -> list[bytes]:
        start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
        start["usage"] = {**usage, "output_tokens": 1, "service_tier": "standard"}
        events = [_event({"type": "message_start", "message": start})]
        for index, block in enumerate(message["content"]):
            events += self._block_events(index, block)
            if index == 0:
                events.append(PING)  # Anthropic sends one after the first block opens
        delta = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
        events.append(
            _event({"type": "message_delta", "delta": delta, "usage": {"output_tokens": usage["output_tokens"]}})
        )
        events.append(_event({"type": "message_stop"}))
        return events

    def _block_events(self, index: int, block: dict) -> list[bytes]:
        kind = block["type"]
        if kind == "text":
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in split_text(block["text"], self.stream_chunks)]
        elif kind == "thinking":
            opening = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in split_text(block["thinking"], 2)]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        else:
            opening = {**block, "input": {}}
            arguments = orjson.dumps(block["input"]).decode()
            pieces = ["", *split_text(arguments, self.stream_chunks)]  # Anthropic opens with an empty one
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
        return [
            _event({"type": "content_block_start", "index": index, "content_block": opening}),
            *(_event({"type": "content_block_delta", "index": index, "delta": d}) for d in deltas),
            _event({"type": "content_block_stop", "index": index}),
        ]
