"""A fake OpenAI-compatible vendor server on loopback, for tests and benchmarks.

It speaks OpenAI's wire format (compact JSON, ``data: {...}\\n\\n`` SSE events,
``data: [DONE]\\n\\n`` terminator, usage chunk with ``"choices":[]`` when
``stream_options.include_usage`` is set) with deterministic replies, so a
gateway can be tested against it byte for byte and benchmarked without a
network. It is a raw ASGI app (no framework) because the benchmark needs it
to serve ~10k req/s on one core.

Tests drive it through :class:`FakeOpenAIUpstream` (uvicorn in a background
thread, recorded requests, behaviour knobs); the benchmark runs it with
``python -m tests.fakes.openai_upstream --port 9999``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import struct
import time
import zlib
from typing import Any

import orjson
import uvicorn

from tests.fakes.vendor import SSE, FakeVendor, Handler, RecordedRequest, split_text, text_len

__all__ = ["FakeOpenAIUpstream", "RecordedRequest", "split_text"]

REPLY_TEXT = "Hello from fake upstream."
REPLY_COMPLETION_TOKENS = 6
TOOL_ARGUMENTS = '{"query": "fake"}'
TOOL_COMPLETION_TOKENS = 9
EMBEDDING_DIMS = 8
MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small")
FINGERPRINT = "fp_fake"
DONE = b"data: [DONE]\n\n"

_COMPLETION_DETAILS = (
    "reasoning_tokens",
    "audio_tokens",
    "accepted_prediction_tokens",
    "rejected_prediction_tokens",
)


def openai_error(message: str, type_: str = "invalid_request_error", code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def prompt_tokens_for(body: dict) -> int:
    """Deterministic stand-in for tokenisation: total prompt chars // 4 + 1."""
    if "messages" in body:
        chars = sum(text_len(m.get("content")) for m in body["messages"] if isinstance(m, dict))
    else:
        chars = text_len(body.get("prompt", body.get("input")))
    return chars // 4 + 1


def usage_for(prompt: int, completion: int, cached: int) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": dict.fromkeys(_COMPLETION_DETAILS, 0),
    }


def embedding_for(item: Any, dims: int = EMBEDDING_DIMS) -> list[float]:
    """Deterministic vector; values are k/16 - 0.5 so float32 round-trips exactly."""
    seed = item.encode() if isinstance(item, str) else orjson.dumps(item)
    out: list[float] = []
    h = zlib.crc32(seed)
    while len(out) < dims:
        out.extend(((h >> s) & 0xF) / 16 - 0.5 for s in range(0, 32, 4))
        h = zlib.crc32(seed, h)
    return out[:dims]


def _sse(obj: dict) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def _wants_usage(body: dict) -> bool:
    return bool((body.get("stream_options") or {}).get("include_usage"))


def _sse_events(head: dict, choices: list[dict], usage: dict | None) -> list[bytes]:
    """One chunk per choice; if usage is wanted, OpenAI puts an explicit "usage":null on each
    chunk and sends the totals in a last chunk whose choices are empty."""
    if usage is None:
        return [_sse({**head, "choices": [c]}) for c in choices]
    return [
        *(_sse({**head, "choices": [c], "usage": None}) for c in choices),
        _sse({**head, "choices": [], "usage": usage}),
    ]


def _tool_name(body: dict) -> str | None:
    """Name of the function the fake should 'call', or None for a text reply."""
    tools, choice = body.get("tools"), body.get("tool_choice")
    messages = body.get("messages") or [{}]
    if not tools or choice == "none" or messages[-1].get("role") == "tool":  # an answered call gets text
        return None
    if isinstance(choice, dict) and "function" in choice:
        return choice["function"].get("name", "tool")
    first = tools[0] if isinstance(tools[0], dict) else {}
    return first.get("function", {}).get("name", "tool")


class FakeOpenAIUpstream(FakeVendor):
    """The fake OpenAI server (knobs and runner in :class:`FakeVendor`); ``cached_tokens`` is its own knob."""

    thread_name = "fake-openai"
    cached_tokens: int
    buffer_stream: bool
    long_answer_tokens: int | None

    def reset(self) -> None:
        super().reset()  # response ids: chatcmpl-fake000000000001, ...
        self.cached_tokens = 0
        # a model that talks at length: this many completion tokens reported, cut (as a vendor does) at
        # the request's max_completion_tokens / max_tokens
        self.long_answer_tokens = None
        self.buffer_stream = False  # behave like a buffering proxy: see send_stream below

    # ---- misbehaving proxies (for `onegate doctor` tests) ---------------

    async def send_stream(self, send: Any, events: list[bytes], terminator: bytes = b"") -> None:
        """With ``buffer_stream``, what a buffering proxy (nginx with proxy_buffering on, some CDNs) does to a
        stream: the events are generated at the usual pace, but nothing reaches the client until the end,
        and then everything at once."""
        if not self.buffer_stream:
            return await super().send_stream(send, events, terminator)
        await asyncio.sleep(self.chunk_delay * max(len(events) - 1, 0))
        await send({"type": "http.response.start", "status": 200, "headers": [SSE, self._request_id()]})
        await send({"type": "http.response.body", "body": b"".join([*events, terminator])})

    # ---- routes ----------------------------------------------------------

    def route(self, method: str, path: str) -> Handler | None:
        if method != "POST":
            return None
        endpoints = {"/v1/chat/completions": self._chat, "/v1/completions": self._completions}
        return {**endpoints, "/v1/embeddings": self._embeddings, "/v1/responses": self._responses}.get(path)

    def error_body(self, message: str) -> dict:
        return openai_error(message)

    def check_body(self, body: dict, headers: dict[str, str]) -> str | None:
        return None if body.get("model") else "you must provide a model parameter"

    def stream_error_event(self, message: str, path: str) -> bytes:
        if path.endswith("/responses"):  # the Responses stream ends with a failed response
            error = {"code": "server_error", "message": message}
            response = {"id": "resp_fake_failed", "object": "response", "status": "failed", "error": error}
            return responses_sse({"type": "response.failed", "sequence_number": 99, "response": response})
        return _sse(openai_error(message, "server_error"))

    async def serve_other(self, send: Any, method: str, path: str, headers: dict[str, str]) -> bool:
        if method == "GET" and path == "/v1/models":
            data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "system"} for m in MODELS]
            await self.send_json(send, 200, {"object": "list", "data": data})
            return True
        if method == "GET" and path.startswith("/v1/models/"):
            model = {"id": path[11:], "object": "model", "created": 1700000000, "owned_by": "system"}
            await self.send_json(send, 200, model)
            return True
        return False

    def auth_error(self, headers: dict[str, str]) -> dict | None:
        auth = headers.get("authorization", "")
        if auth == f"Bearer {self.required_api_key}":
            return None
        if not auth.startswith("Bearer ") or not auth[7:]:
            msg = (
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        else:
            key = auth[7:]
            shown = f"{key[:3]}{'*' * 8}{key[-4:]}" if len(key) > 8 else key
            msg = (
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
        return openai_error(msg, code="invalid_api_key")

    # ---- endpoints -------------------------------------------------------

    async def _chat(self, send: Any, body: dict) -> None:
        n = self.next_id()
        cid, created, model = f"chatcmpl-fake{n:012d}", int(time.time()), body["model"]
        tool = _tool_name(body)
        completion = TOOL_COMPLETION_TOKENS if tool else REPLY_COMPLETION_TOKENS
        if self.long_answer_tokens is not None:
            limit = body.get("max_completion_tokens") or body.get("max_tokens")
            completion = min(self.long_answer_tokens, limit) if limit else self.long_answer_tokens
        usage = usage_for(prompt_tokens_for(body), completion, self.cached_tokens)
        head = {"id": cid, "object": "chat.completion", "created": created, "model": model}
        call_id = f"call_fake{n:012d}"
        if not body.get("stream"):
            if tool:
                function = {"name": tool, "arguments": TOOL_ARGUMENTS}
                call = {"id": call_id, "type": "function", "function": function}
                message = {"role": "assistant", "content": None, "tool_calls": [call]}
            else:
                message = {"role": "assistant", "content": REPLY_TEXT}
            message.update(refusal=None, annotations=[])
            finish = "tool_calls" if tool else "stop"
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            resp = {**head, "choices": [choice], "usage": usage}
            resp.update(service_tier="default", system_fingerprint=FINGERPRINT)
            return await self.send_json(send, 200, resp)

        head.update(object="chat.completion.chunk", service_tier="default", system_fingerprint=FINGERPRINT)

        def delta(d: dict, finish: str | None = None) -> dict:
            return {"index": 0, "delta": d, "logprobs": None, "finish_reason": finish}

        if tool:
            function = {"name": tool, "arguments": ""}
            call = {"index": 0, "id": call_id, "type": "function", "function": function}
            choices = [delta({"role": "assistant", "content": None, "tool_calls": [call], "refusal": None})]
            frags = split_text(TOOL_ARGUMENTS, self.stream_chunks)
            choices += [delta({"tool_calls": [{"index": 0, "function": {"arguments": f}}]}) for f in frags]
            choices.append(delta({}, "tool_calls"))
        else:
            choices = [delta({"role": "assistant", "content": "", "refusal": None})]
            choices += [delta({"content": piece}) for piece in split_text(REPLY_TEXT, self.stream_chunks)]
            choices.append(delta({}, "stop"))
        await self.send_stream(send, _sse_events(head, choices, usage if _wants_usage(body) else None), DONE)

    async def _completions(self, send: Any, body: dict) -> None:
        head = {"id": f"cmpl-fake{self.next_id():012d}", "object": "text_completion"}
        head.update(created=int(time.time()), model=body["model"], system_fingerprint=FINGERPRINT)
        usage = usage_for(prompt_tokens_for(body), REPLY_COMPLETION_TOKENS, self.cached_tokens)
        if not body.get("stream"):
            choice = {"text": REPLY_TEXT, "index": 0, "logprobs": None, "finish_reason": "stop"}
            return await self.send_json(send, 200, {**head, "choices": [choice], "usage": usage})
        texts = [*split_text(REPLY_TEXT, self.stream_chunks), ""]
        choices = [{"text": t, "index": 0, "logprobs": None, "finish_reason": None if t else "stop"} for t in texts]
        await self.send_stream(send, _sse_events(head, choices, usage if _wants_usage(body) else None), DONE)

    async def _embeddings(self, send: Any, body: dict) -> None:
        raw = body.get("input")
        # A string or a single token array is one input; any other list is a batch.
        if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
            inputs = [raw]
        elif isinstance(raw, list) and raw:
            inputs = raw
        else:
            return await self.send_json(send, 400, openai_error("'input' is a required property"))
        fmt = body.get("encoding_format") or "float"
        if fmt not in ("float", "base64"):
            return await self.send_json(send, 400, openai_error(f"Invalid encoding_format: '{fmt}'"))
        dims = body.get("dimensions") or EMBEDDING_DIMS
        if not isinstance(dims, int) or not 1 <= dims <= 3072:  # OpenAI's own bound (and a fuzzed 2**53 would hang)
            return await self.send_json(send, 400, openai_error(f"Invalid 'dimensions': {dims!r}"))
        data = []
        for i, item in enumerate(inputs):
            vec: Any = embedding_for(item, dims)
            if fmt == "base64":
                vec = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": vec})
        tokens = prompt_tokens_for(body)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        resp = {"object": "list", "data": data, "model": body["model"], "usage": usage}
        await self.send_json(send, 200, resp)

    async def _responses(self, send: Any, body: dict) -> None:
        """The Responses API: one output item (a message or a function call), usage in the last event."""
        n = self.next_id()
        tool = responses_tool_name(body)
        usage = responses_usage(
            responses_prompt_tokens(body),
            TOOL_COMPLETION_TOKENS if tool else REPLY_COMPLETION_TOKENS,
            self.cached_tokens,
        )
        response = responses_object(f"resp_fake{n:012d}", body, int(time.time()), "completed", [], usage)
        item = responses_item(n, tool)
        if not body.get("stream"):
            return await self.send_json(send, 200, {**response, "output": [item]})
        events = responses_events(response, item, self.stream_chunks)
        await self.send_stream(send, [responses_sse(e) for e in events])


# ---- Responses API helpers (kept apart: real OpenAI wire format, `event:` lines and sequence numbers) ----


def responses_prompt_tokens(body: dict) -> int:
    items = body.get("input")
    chars = len(body.get("instructions") or "")
    if isinstance(items, str):
        chars += len(items)
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            chars += text_len(item.get("content")) + text_len(item.get("output")) + len(item.get("arguments", ""))
    return chars // 4 + 1


def responses_usage(prompt: int, completion: int, cached: int) -> dict:
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def responses_tool_name(body: dict) -> str | None:
    items = body.get("input")
    last = items[-1] if isinstance(items, list) and items and isinstance(items[-1], dict) else {}
    if body.get("tool_choice") == "none" or last.get("type") == "function_call_output":
        return None
    functions = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"]
    return functions[0].get("name", "tool") if functions else None


def responses_object(rid: str, body: dict, created: int, status: str, output: list, usage: dict | None) -> dict:
    return {
        "id": rid, "object": "response", "created_at": created, "status": status, "background": False,
        "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"), "model": body["model"], "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True), "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None}, "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0), "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools", []), "top_p": 1.0,
        "truncation": "disabled", "usage": usage, "user": None, "metadata": {},
    }  # fmt: skip


def responses_item(n: int, tool: str | None) -> dict:
    if tool:
        return {"id": f"fc_fake{n:012d}", "type": "function_call", "status": "completed", "arguments": TOOL_ARGUMENTS,
                "call_id": f"call_fake{n:012d}", "name": tool}  # fmt: skip
    text = {"type": "output_text", "annotations": [], "logprobs": [], "text": REPLY_TEXT}
    return {"id": f"msg_fake{n:012d}", "type": "message", "status": "completed", "content": [text], "role": "assistant"}


def responses_events(response: dict, item: dict, chunks: int) -> list[dict]:
    """The event sequence OpenAI streams for a one-item response (sequence numbers added by the caller)."""
    started = {**response, "status": "in_progress", "usage": None}
    at = {"item_id": item["id"], "output_index": 0}
    events: list[dict] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    if item["type"] == "function_call":
        events.append({"type": "response.output_item.added", "output_index": 0,
                       "item": {**item, "status": "in_progress", "arguments": ""}})  # fmt: skip
        pieces = split_text(item["arguments"], chunks)
        events += [{"type": "response.function_call_arguments.delta", **at, "delta": p} for p in pieces]
        events.append({"type": "response.function_call_arguments.done", **at, "arguments": item["arguments"]})
    else:
        text = item["content"][0]["text"]
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        events.append({"type": "response.output_item.added", "output_index": 0,
                       "item": {**item, "status": "in_progress", "content": []}})  # fmt: skip
        events.append({"type": "response.content_part.added", **at, "content_index": 0, "part": part})
        events += [
            {"type": "response.output_text.delta", **at, "content_index": 0, "delta": p, "logprobs": []}
            for p in split_text(text, chunks)
        ]
        events.append({"type": "response.output_text.done", **at, "content_index": 0, "text": text, "logprobs": []})
        events.append({"type": "response.content_part.done", **at, "content_index": 0, "part": {**part, "text": text}})
    events.append({"type": "response.output_item.done", "output_index": 0, "item": item})
    events.append({"type": "response.completed", "response": {**response, "output": [item]}})
    return [{**e, "sequence_number": i} for i, e in enumerate(events)]


def responses_sse(event: dict) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible upstream (benchmark mode).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--stream-chunks", type=int, default=4)
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between stream chunks")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before answering (a real vendor's latency)")
    parser.add_argument("--record", action="store_true", help="keep every request in memory (off by default)")
    args = parser.parse_args(argv)
    app = FakeOpenAIUpstream(args.host, args.port, record=args.record)
    app.stream_chunks, app.chunk_delay = args.stream_chunks, args.chunk_delay
    app.delay_before_headers = args.delay
    # uvloop + httptools: the benchmark needs the fake to be far faster than the gateway under test.
    server = {"loop": "uvloop", "http": "httptools", "lifespan": "off"}
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, **server)


if __name__ == "__main__":
    main()
