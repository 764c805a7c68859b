"""`onegate-selftest`: a built-in, zero-cost model that answers in OpenAI's wire format, in process.

Its purpose is support: prove that base URL, key and streaming work before any money is spent. Replies
are deterministic and usage is reported. It answers in text even when tools are offered, so an agent
(Claude Code, Codex) pointed at it finishes its turn instead of acting on the machine; it calls a tool
only when `tool_choice` forces one (`required`, or a named function), which no agent does by default.
Because it speaks the OpenAI dialect, every other surface reaches it through the same translators as a
real OpenAI-compatible upstream.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import time
import zlib
from collections.abc import Mapping
from typing import Any

import orjson

from onegate.accounting.usage import estimate_tokens
from onegate.providers.protocol import UpstreamRequest
from onegate.redaction import UpstreamText
from onegate.settings import Timeouts
from onegate.surfaces import native_surfaces

REPLY = "Hello from onegate-selftest! Your base URL, key and model name all work."
EMBEDDING_DIMENSIONS = 16


class SelftestResponse:
    __slots__ = ("status", "headers", "_pieces")

    def __init__(
        self, status: int, pieces: list[bytes], content_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.headers: Mapping[str, str] = {"content-type": content_type, **(headers or {})}
        self._pieces = list(pieces)

    async def read(self) -> bytes:
        return b"".join(self._pieces)

    async def next_chunk(self) -> bytes | None:
        return self._pieces.pop(0) if self._pieces else None

    def has_chunk(self) -> bool:
        return True  # all in memory

    def close(self) -> None:
        self._pieces = []


class SelftestProvider:
    name = "selftest"
    dialect = "openai_chat"
    native_dialects = native_surfaces("openai")
    timeouts = Timeouts()
    passthrough_fields: frozenset[str] = frozenset()
    upstream_text = UpstreamText()

    def __init__(self, model: str) -> None:
        self.model = model

    async def send(self, request: UpstreamRequest) -> SelftestResponse:
        if request.endpoint.startswith("/images/"):
            return image_response(request.endpoint, request.body, request.stream)
        body = orjson.loads(request.body)
        if request.endpoint == "/embeddings":
            return _json(embeddings(body))
        if request.endpoint == "/completions":
            return _stream(text_completion_chunks(body)) if request.stream else _json(text_completion(body))
        return _stream(chat_chunks(body)) if request.stream else _json(chat_completion(body))


def image_response(endpoint: str, body: bytes, stream: bool) -> SelftestResponse:
    """`onegate-selftest-image`: one small valid PNG per image asked for, with usage, at zero cost."""
    n = 1
    if endpoint.endswith("/generations"):
        asked = orjson.loads(body).get("n")
        n = asked if isinstance(asked, int) and 1 <= asked <= 10 else 1
    usage = {
        "input_tokens": 10,
        "input_tokens_details": {"text_tokens": 10, "image_tokens": 0},
        "output_tokens": 16,
        "output_tokens_details": {"text_tokens": 0, "image_tokens": 16},
        "total_tokens": 26,
    }
    image = base64.b64encode(SELFTEST_PNG).decode()
    if not stream:
        data = [{"b64_json": image} for _ in range(n)]
        return _json({"created": int(time.time()), "data": data, "size": "8x8", "output_format": "png", "usage": usage})
    kind = "image_edit" if endpoint.endswith("/edits") else "image_generation"
    common = {"created_at": int(time.time()), "size": "8x8", "quality": "low", "background": "opaque"}
    events: list[tuple[str, dict[str, Any]]] = []
    for _ in range(n):
        partial: dict[str, Any] = {"type": f"{kind}.partial_image", "b64_json": image, "partial_image_index": 0}
        done: dict[str, Any] = {"type": f"{kind}.completed", "b64_json": image, "output_format": "png", "usage": usage}
        events += [(f"{kind}.partial_image", {**partial, **common}), (f"{kind}.completed", {**done, **common})]
    pieces = [b"event: " + name.encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for name, e in events]
    return SelftestResponse(200, pieces, "text/event-stream")


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid, solid-colour PNG (8-bit RGB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


SELFTEST_PNG = png(8, 8, (46, 139, 87))


def _json(data: dict[str, Any]) -> SelftestResponse:
    return SelftestResponse(200, [orjson.dumps(data)], "application/json")


def _stream(events: list[dict[str, Any]]) -> SelftestResponse:
    pieces = [b"data: " + orjson.dumps(e) + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]
    return SelftestResponse(200, pieces, "text/event-stream")


def _prompt_tokens(body: dict[str, Any]) -> int:
    return estimate_tokens(len(orjson.dumps(body.get("messages") or body.get("prompt") or body.get("input"))))


def _usage(body: dict[str, Any], completion_tokens: int) -> dict[str, Any]:
    prompt = _prompt_tokens(body)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def _reply_pieces() -> list[str]:
    words = REPLY.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _forced_name(choice: Any) -> str | None:
    """The tool name `tool_choice` forces ("" for any tool), None when the model may answer in text.

    Every surface reaches this provider as Chat: the translators turn Anthropic's `any` / `{"type": "tool"}`
    and Responses' `required` / `{"type": "function", "name": ...}` into Chat's `required` / named function.
    """
    if choice == "required":
        return ""
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return choice["function"].get("name") or None
    return None


def _tool_call(body: dict[str, Any]) -> dict[str, Any] | None:
    forced = _forced_name(body.get("tool_choice"))
    if forced is None:
        return None
    for tool in body.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if isinstance(function, dict) and function.get("name") and forced in ("", function["name"]):
            arguments = _sample_arguments(function.get("parameters") or {})
            return {
                "id": "call_selftest_1",
                "type": "function",
                "function": {"name": function["name"], "arguments": orjson.dumps(arguments).decode()},
            }
    return None


def _sample_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    samples = {"string": "test", "integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}
    properties = schema.get("properties") or {}
    return {
        name: samples.get((properties.get(name) or {}).get("type", "string"), "test")
        for name in schema.get("required") or []
    }


def _id(prefix: str) -> str:
    return f"{prefix}-selftest-{int(time.time() * 1000)}"


def chat_completion(body: dict[str, Any]) -> dict[str, Any]:
    call = _tool_call(body)
    if call:
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish, completion = "tool_calls", estimate_tokens(len(call["function"]["arguments"])) + 5
    else:
        message = {"role": "assistant", "content": REPLY}
        finish, completion = "stop", len(_reply_pieces())
    return {
        "id": _id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": _usage(body, completion),
    }


def chat_chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    base = {
        "id": _id("chatcmpl"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body["model"],
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "usage": None,
        }

    call = _tool_call(body)
    chunks = [chunk({"role": "assistant", "content": None if call else ""})]
    if call:
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        for part in (arguments[:half], arguments[half:]):
            chunks.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
        chunks.append(chunk({}, "tool_calls"))
        completion = estimate_tokens(len(arguments)) + 5
    else:
        chunks.extend(chunk({"content": piece}) for piece in _reply_pieces())
        chunks.append(chunk({}, "stop"))
        completion = len(_reply_pieces())
    chunks.append({**base, "choices": [], "usage": _usage(body, completion)})
    return chunks


def text_completion(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _id("cmpl"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [{"text": REPLY, "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": _usage(body, len(_reply_pieces())),
    }


def text_completion_chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    base = {"id": _id("cmpl"), "object": "text_completion", "created": int(time.time()), "model": body["model"]}
    pieces = _reply_pieces()
    chunks = [
        {
            **base,
            "choices": [
                {"text": piece, "index": 0, "logprobs": None, "finish_reason": "stop" if i == len(pieces) - 1 else None}
            ],
            "usage": None,
        }
        for i, piece in enumerate(pieces)
    ]
    chunks.append({**base, "choices": [], "usage": _usage(body, len(pieces))})
    return chunks


def embedding_vector(text: str) -> list[float]:
    """A deterministic unit-ish vector derived from the text's hash."""
    digest = hashlib.sha256(text.encode()).digest()
    return [round((b - 127.5) / 127.5, 6) for b in digest[:EMBEDDING_DIMENSIONS]]


def embeddings(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, item in enumerate(inputs):
        vector = embedding_vector(item if isinstance(item, str) else orjson.dumps(item).decode())
        value: Any = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode() if as_base64 else vector
        data.append({"object": "embedding", "index": index, "embedding": value})
    tokens = _prompt_tokens(body)
    return {
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
