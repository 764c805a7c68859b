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
import itertools
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
import uvicorn

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
_JSON = (b"content-type", b"application/json")
_SSE = (b"content-type", b"text/event-stream; charset=utf-8")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # names lower-cased; a repeated header keeps its last value
    body: bytes
    json: Any  # parsed body, or None if empty / not JSON


def openai_error(message: str, type_: str = "invalid_request_error", code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def split_text(text: str, n: int) -> list[str]:
    """Split ``text`` into ``n`` contiguous non-empty pieces (fewer if text is shorter)."""
    n = max(1, min(n, len(text)))
    cuts = [len(text) * i // n for i in range(n + 1)]
    return [text[a:b] for a, b in itertools.pairwise(cuts)]


def _text_len(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):  # content parts / prompt lists / token arrays
        return sum(_text_len(p.get("text") if isinstance(p, dict) else p) for p in content)
    return 1 if isinstance(content, int) else 0  # a token id counts as one char


def prompt_tokens_for(body: dict) -> int:
    """Deterministic stand-in for tokenisation: total prompt chars // 4 + 1."""
    if "messages" in body:
        chars = sum(_text_len(m.get("content")) for m in body["messages"] if isinstance(m, dict))
    else:
        chars = _text_len(body.get("prompt", body.get("input")))
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


class FakeOpenAIUpstream:
    """The fake server: an ASGI app (``self`` is callable) plus a thread runner.

    Knobs are plain attributes read once per request, so tests may change them
    between requests from the test thread.
    """

    hold_after_first_chunk: threading.Event | None
    delay_before_headers: float
    chunk_delay: float
    stream_chunks: int
    cached_tokens: int
    cut_stream_after: int | None
    cut_stream_abort: bool
    required_api_key: str | None

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, record: bool = True) -> None:
        self.host = host
        self.port = port
        self.record = record  # the CLI turns this off so a long benchmark doesn't grow memory
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._failures: list[list[Any]] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._routes = {
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/v1/completions"): self._completions,
            ("POST", "/v1/embeddings"): self._embeddings,
            ("POST", "/v1/responses"): self._responses,
        }
        self.reset()

    # ---- control surface -------------------------------------------------

    def reset(self) -> None:
        """Restore default behaviour and forget recorded requests."""
        self.hold_after_first_chunk = None
        self.delay_before_headers = 0.0
        self.chunk_delay = 0.0
        self.stream_chunks = 4
        self.cached_tokens = 0
        self.cut_stream_after = None  # send N data events, then end without [DONE]
        self.cut_stream_abort = False  # with cut_stream_after: drop the TCP connection instead of a clean EOF
        self.required_api_key = None
        self._ids = itertools.count(1)  # response ids: chatcmpl-fake000000000001, ...
        self._req_ids = itertools.count(1)
        with self._lock:
            self._failures.clear()
        self.requests.clear()  # in place, so a test holding the list sees the reset

    def fail_next(self, status: int, body: bytes | dict, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with this error instead of serving them."""
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        hdrs = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in (headers or {}).items()]
        if not any(k == b"content-type" for k, _ in hdrs):
            hdrs.append(_JSON)
        with self._lock:
            self._failures.append([status, raw, hdrs, times])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> FakeOpenAIUpstream:
        # Bind ourselves so the port is known (and free) before uvicorn starts.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._stopping = False
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-openai", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI upstream failed to start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._stopping = True  # releases streams parked on hold_after_first_chunk
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> FakeOpenAIUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- ASGI ------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        parsed: Any = None
        if body:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
        if self.record:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            qs = scope.get("query_string", b"").decode("latin-1")
            self.requests.append(RecordedRequest(method, path, qs, headers, body, parsed))

        if self.delay_before_headers > 0:
            await asyncio.sleep(self.delay_before_headers)
        failure = self._take_failure()
        if failure is not None:
            return await self._send(send, failure[0], failure[1], failure[2])
        if self.required_api_key is not None:
            error = self._auth_error(scope["headers"])
            if error is not None:
                return await self._json(send, 401, error)

        handler = self._routes.get((method, path))
        if handler is not None:
            if not isinstance(parsed, dict):
                msg = (
                    "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly.)"
                )
                return await self._json(send, 400, openai_error(msg))
            if not parsed.get("model"):
                return await self._json(send, 400, openai_error("you must provide a model parameter"))
            return await handler(send, parsed)
        if method == "GET" and path == "/v1/models":
            data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "system"} for m in MODELS]
            return await self._json(send, 200, {"object": "list", "data": data})
        if method == "GET" and path.startswith("/v1/models/"):
            model = {"id": path[11:], "object": "model", "created": 1700000000, "owned_by": "system"}
            return await self._json(send, 200, model)
        return await self._json(send, 404, openai_error(f"Invalid URL ({method} {path})"))

    def _take_failure(self) -> tuple[int, bytes, list] | None:
        if not self._failures:  # unlocked fast path for the benchmark
            return None
        with self._lock:
            if not self._failures:
                return None
            entry = self._failures[0]
            entry[3] -= 1
            if entry[3] <= 0:
                self._failures.pop(0)
            return entry[0], entry[1], entry[2]

    def _auth_error(self, headers: list[tuple[bytes, bytes]]) -> dict | None:
        auth = next((v.decode("latin-1") for k, v in headers if k == b"authorization"), "")
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

    def _request_id(self) -> tuple[bytes, bytes]:
        return (b"x-request-id", b"req_fake%012d" % next(self._req_ids))

    async def _send(self, send: Any, status: int, body: bytes, headers: list) -> None:
        headers = [*headers, (b"content-length", b"%d" % len(body)), self._request_id()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _json(self, send: Any, status: int, obj: dict) -> None:
        await self._send(send, status, orjson.dumps(obj), [_JSON])

    async def _stream(self, send: Any, events: list[bytes], terminator: bytes | None = DONE) -> None:
        # Knobs are sampled once so a test flipping them mid-stream can't tear a response.
        hold, delay, cut = self.hold_after_first_chunk, self.chunk_delay, self.cut_stream_after
        await send({"type": "http.response.start", "status": 200, "headers": [_SSE, self._request_id()]})
        events = events[:cut] if cut is not None else [*events, *([terminator] if terminator else [])]
        for i, event in enumerate(events):
            if i == 1 and hold is not None:
                # Poll rather than Event.wait(): blocking would freeze the whole event loop.
                # reset() (which swaps the knob) and stop() also release it, so a forgotten
                # Event can't leave a task spinning into the next test.
                while not hold.is_set() and not self._stopping and self.hold_after_first_chunk is hold:
                    await asyncio.sleep(0.002)
            if i and delay > 0:
                await asyncio.sleep(delay)
            # One ASGI message per event so each is flushed as its own write.
            await send({"type": "http.response.body", "body": event, "more_body": True})
        if cut is not None and self.cut_stream_abort:
            return  # returning mid-response makes uvicorn close the socket: a truncated chunked body
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    # ---- endpoints -------------------------------------------------------

    async def _chat(self, send: Any, body: dict) -> None:
        n = next(self._ids)
        cid, created, model = f"chatcmpl-fake{n:012d}", int(time.time()), body["model"]
        tool = _tool_name(body)
        completion = TOOL_COMPLETION_TOKENS if tool else REPLY_COMPLETION_TOKENS
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
            return await self._json(send, 200, resp)

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
        await self._stream(send, _sse_events(head, choices, usage if _wants_usage(body) else None))

    async def _completions(self, send: Any, body: dict) -> None:
        head = {"id": f"cmpl-fake{next(self._ids):012d}", "object": "text_completion"}
        head.update(created=int(time.time()), model=body["model"], system_fingerprint=FINGERPRINT)
        usage = usage_for(prompt_tokens_for(body), REPLY_COMPLETION_TOKENS, self.cached_tokens)
        if not body.get("stream"):
            choice = {"text": REPLY_TEXT, "index": 0, "logprobs": None, "finish_reason": "stop"}
            return await self._json(send, 200, {**head, "choices": [choice], "usage": usage})
        texts = [*split_text(REPLY_TEXT, self.stream_chunks), ""]
        choices = [{"text": t, "index": 0, "logprobs": None, "finish_reason": None if t else "stop"} for t in texts]
        await self._stream(send, _sse_events(head, choices, usage if _wants_usage(body) else None))

    async def _embeddings(self, send: Any, body: dict) -> None:
        raw = body.get("input")
        # A string or a single token array is one input; any other list is a batch.
        if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
            inputs = [raw]
        elif isinstance(raw, list) and raw:
            inputs = raw
        else:
            return await self._json(send, 400, openai_error("'input' is a required property"))
        fmt = body.get("encoding_format") or "float"
        if fmt not in ("float", "base64"):
            return await self._json(send, 400, openai_error(f"Invalid encoding_format: '{fmt}'"))
        dims = int(body.get("dimensions") or EMBEDDING_DIMS)
        data = []
        for i, item in enumerate(inputs):
            vec: Any = embedding_for(item, dims)
            if fmt == "base64":
                vec = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": vec})
        tokens = prompt_tokens_for(body)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        resp = {"object": "list", "data": data, "model": body["model"], "usage": usage}
        await self._json(send, 200, resp)

    async def _responses(self, send: Any, body: dict) -> None:
        """The Responses API: one output item (a message or a function call), usage in the last event."""
        n = next(self._ids)
        tool = responses_tool_name(body)
        usage = responses_usage(
            responses_prompt_tokens(body),
            TOOL_COMPLETION_TOKENS if tool else REPLY_COMPLETION_TOKENS,
            self.cached_tokens,
        )
        response = responses_object(f"resp_fake{n:012d}", body, int(time.time()), "completed", [], usage)
        item = responses_item(n, tool)
        if not body.get("stream"):
            return await self._json(send, 200, {**response, "output": [item]})
        events = responses_events(response, item, self.stream_chunks)
        await self._stream(send, [responses_sse(e) for e in events], terminator=None)


# ---- Responses API helpers (kept apart: real OpenAI wire format, `event:` lines and sequence numbers) ----


def responses_prompt_tokens(body: dict) -> int:
    items = body.get("input")
    chars = len(body.get("instructions") or "")
    if isinstance(items, str):
        chars += len(items)
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            chars += _text_len(item.get("content")) + _text_len(item.get("output")) + len(item.get("arguments", ""))
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
    parser.add_argument("--record", action="store_true", help="keep every request in memory (off by default)")
    args = parser.parse_args(argv)
    app = FakeOpenAIUpstream(args.host, args.port, record=args.record)
    app.stream_chunks, app.chunk_delay = args.stream_chunks, args.chunk_delay
    # uvloop + httptools: the benchmark needs the fake to be far faster than the gateway under test.
    server = {"loop": "uvloop", "http": "httptools", "lifespan": "off"}
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, **server)


if __name__ == "__main__":
    main()
