"""What every fake vendor server shares: a raw ASGI app on loopback in a background thread, recorded
requests, and the behaviour knobs tests turn (fail_next, delays, hold_after_first_chunk, cut_stream_after,
and the faults failover tests use: refuse connections, hang before headers, garbage, disconnect records).
A careless vendor is a knob too: `echo_next` and `echo_stream_error_after` answer with errors that repeat
the credential headers and the body they received, as some upstreams and proxies do.

A vendor subclass supplies its routes, its auth check and its error body; the machinery here is the
same for OpenAI's wire and Anthropic's, so a knob behaves identically on both fakes.
"""

from __future__ import annotations

import asyncio
import contextvars
import html
import itertools
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import uvicorn

JSON = (b"content-type", b"application/json")
SSE = (b"content-type", b"text/event-stream; charset=utf-8")
Handler = Callable[[Any, dict], Awaitable[None]]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # names lower-cased; a repeated header keeps its last value
    body: bytes
    json: Any  # parsed body, or None if empty / not JSON


class FakeVendor:
    """The fake server: an ASGI app (``self`` is callable) plus a thread runner.

    Knobs are plain attributes read once per request, so tests may change them between requests
    from the test thread.
    """

    thread_name = "fake-vendor"
    hold_after_first_chunk: threading.Event | None
    delay_before_headers: float
    chunk_delay: float
    stream_chunks: int
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
        self.reset()

    # ---- what a vendor says ------------------------------------------------

    def route(self, method: str, path: str) -> Handler | None:
        """The handler for a POST with a JSON body, or None."""
        raise NotImplementedError

    def auth_error(self, headers: dict[str, str]) -> dict | None:
        """The vendor's 401 body when ``required_api_key`` is set and not sent, else None."""
        raise NotImplementedError

    def error_body(self, message: str) -> dict:
        """The vendor's 400/404 error body."""
        raise NotImplementedError

    async def serve_other(self, send: Any, method: str, path: str, headers: dict[str, str]) -> bool:
        """GET endpoints and the like; True when answered."""
        return False

    def check_body(self, body: dict, headers: dict[str, str]) -> str | None:
        """A 400 message for a body (or headers) the vendor would refuse, else None."""
        return None

    def stream_error_event(self, message: str, path: str) -> bytes:
        """The vendor's error event inside a stream on `path`."""
        raise NotImplementedError

    # ---- control surface -----------------------------------------------------

    def reset(self) -> None:
        """Restore default behaviour and forget recorded requests."""
        self.hold_after_first_chunk = None
        self.delay_before_headers = 0.0
        self.chunk_delay = 0.0
        self.stream_chunks = 4
        self.cut_stream_after = None  # send N events, then end without the terminator
        self.cut_stream_abort = False  # with cut_stream_after: drop the TCP connection instead of a clean EOF
        self.required_api_key = None
        self.echo_stream_error_after: int | None = None  # N events, then an error event echoing the request
        self._echoes: list[list[Any]] = []  # [status, html, times]: error bodies echoing the request
        self._reset_faults()
        self._ids = itertools.count(1)
        self._req_ids = itertools.count(1)
        with self._lock:
            self._failures.clear()
        self.requests.clear()  # in place, so a test holding the list sees the reset

    def fail_next(self, status: int, body: bytes | dict, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with this error instead of serving them."""
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        hdrs = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in (headers or {}).items()]
        if not any(k == b"content-type" for k, _ in hdrs):
            hdrs.append(JSON)
        with self._lock:
            self._failures.append([status, raw, hdrs, times])

    def echo_next(self, status: int, *, html: bool = False, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` and an error that repeats the credential headers
        and the body received (the vendor's JSON error shape, or a proxy's ``text/html`` page)."""
        with self._lock:
            self._echoes.append([status, html, times])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> FakeVendor:
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
            target=self._server.run, kwargs={"sockets": [sock]}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.thread_name} failed to start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._stopping = True  # releases streams parked on hold_after_first_chunk
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> FakeVendor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- faults on command (failover tests) ------------------------------------
    # Each fault is its own method; the disconnect watch runs only when requests are recorded (tests).

    def _reset_faults(self) -> None:
        self._hangs = 0
        self.disconnects: list[str] = []  # paths whose client went away before the response was complete

    def refuse_connections(self) -> None:
        """Stop listening, so connections are refused, until accept_connections(); the port is kept."""
        self.stop()

    def accept_connections(self) -> None:
        self.start()

    def hang_next(self, times: int = 1) -> None:
        """The next ``times`` requests get no headers at all until their client goes away."""
        with self._lock:
            self._hangs += times

    def garbage_next(self, body: bytes = b"<html><body>502 Bad Gateway</body></html>", times: int = 1) -> None:
        """Answer 200 with a body that is neither JSON nor an event stream (a proxy's error page)."""
        self.fail_next(200, body, {"content-type": "text/html"}, times)

    def wait_for_disconnects(self, count: int = 1, timeout: float = 5.0) -> bool:
        """True once ``count`` clients have gone away mid-response (the gateway cancelled upstream)."""
        deadline = time.monotonic() + timeout
        while len(self.disconnects) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _take_hang(self) -> bool:
        if not self._hangs:
            return False
        with self._lock:
            if not self._hangs:
                return False
            self._hangs -= 1
            return True

    # ---- ASGI ----------------------------------------------------------------

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
        _RAW_BODY.set(body)
        parsed: Any = None
        if body:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self._echoes or self.echo_stream_error_after is not None:
            _ECHO.set((path, echo_text(headers, body)))
        if not self.record:
            return await self._serve(send, method, path, headers, parsed)
        qs = scope.get("query_string", b"").decode("latin-1")
        self.requests.append(RecordedRequest(method, path, qs, headers, body, parsed))
        watch = _ClientWatch(self, receive, send, path)
        try:
            if self._take_hang():
                return await watch.hang()
            return await self._serve(watch.send, method, path, headers, parsed)
        finally:
            watch.stop()

    async def _serve(self, send: Any, method: str, path: str, headers: dict[str, str], parsed: Any) -> None:
        if self.delay_before_headers > 0:
            await asyncio.sleep(self.delay_before_headers)
        failure = self._take_failure()
        if failure is not None:
            return await self.send_raw(send, failure[0], failure[1], failure[2])
        if self._echoes:
            return await self._send_echo(send, path)
        if self.required_api_key is not None:
            error = self.auth_error(headers)
            if error is not None:
                return await self.send_json(send, 401, error)

        handler = self.route(method, path)
        if handler is not None:
            if not isinstance(parsed, dict):
                msg = (
                    "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly.)"
                )
                return await self.send_json(send, 400, self.error_body(msg))
            refusal = self.check_body(parsed, headers)
            if refusal is not None:
                return await self.send_json(send, 400, self.error_body(refusal))
            return await self._handle(handler, send, parsed)
        if await self.serve_other(send, method, path, headers):
            return
        return await self.send_json(send, 404, self.error_body(f"Invalid URL ({method} {path})"))

    async def _send_echo(self, send: Any, path: str) -> None:
        with self._lock:
            entry = self._echoes[0]
            entry[2] -= 1
            if entry[2] <= 0:
                self._echoes.pop(0)
        status, as_html = entry[0], entry[1]
        text = (_ECHO.get() or (path, ""))[1]
        if as_html:
            page = f"<html><head><title>{status}</title></head><body><h1>Error {status}</h1><pre>{html.escape(text)}"
            body = (page + "</pre></body></html>").encode()
            return await self.send_raw(send, status, body, [(b"content-type", b"text/html; charset=utf-8")])
        return await self.send_raw(send, status, orjson.dumps(self.error_body(text)), [JSON])

    async def _handle(self, handler: Handler, send: Any, parsed: dict) -> None:
        """A body the fake cannot read (wrong types in fields it uses) gets the 400 a real vendor gives."""
        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await handler(tracked, parsed)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            if started:
                raise
            await self.send_json(send, 400, self.error_body(f"Invalid request body ({exc.__class__.__name__})."))

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

    def next_id(self) -> int:
        return next(self._ids)

    def _request_id(self) -> tuple[bytes, bytes]:
        return (b"x-request-id", b"req_fake%012d" % next(self._req_ids))

    async def send_raw(self, send: Any, status: int, body: bytes, headers: list) -> None:
        headers = [*headers, (b"content-length", b"%d" % len(body)), self._request_id()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def send_json(self, send: Any, status: int, obj: dict) -> None:
        await self.send_raw(send, status, orjson.dumps(obj), [JSON])

    async def send_stream(self, send: Any, events: list[bytes], terminator: bytes = b"") -> None:
        """One ASGI message per event; ``cut_stream_after`` N sends N events and no terminator."""
        # Knobs are sampled once so a test flipping them mid-stream can't tear a response.
        hold, delay, cut = self.hold_after_first_chunk, self.chunk_delay, self.cut_stream_after
        await send({"type": "http.response.start", "status": 200, "headers": [SSE, self._request_id()]})
        echo, error_after = _ECHO.get(), self.echo_stream_error_after
        if echo is not None and error_after is not None:
            events, terminator = [*events[:error_after], self.stream_error_event(echo[1], echo[0])], b""
        if cut is not None:
            events = events[:cut]
        elif terminator:
            events = [*events, terminator]
        for i, event in enumerate(events):
            if i == 1 and hold is not None:
                # Poll rather than Event.wait(): blocking would freeze the whole event loop.
                # reset() (which swaps the knob) and stop() also release it, so a forgotten
                # Event can't leave a task spinning into the next test.
                gone = _CLIENT_GONE.get()
                while not hold.is_set() and not self._stopping and self.hold_after_first_chunk is hold:
                    if gone is not None and gone.is_set():
                        return  # the client went away (recorded in ``disconnects``)
                    await asyncio.sleep(0.002)
            if i and delay > 0:
                await asyncio.sleep(delay)
            # One ASGI message per event so each is flushed as its own write.
            await send({"type": "http.response.body", "body": event, "more_body": True})
        if cut is not None and self.cut_stream_abort:
            return  # returning mid-response makes uvicorn close the socket: a truncated chunked body
        await send({"type": "http.response.body", "body": b"", "more_body": False})


_RAW_BODY: contextvars.ContextVar[bytes] = contextvars.ContextVar("raw_body", default=b"")


def raw_body() -> bytes:
    """The current request's body as received (for handlers of bodies that are not JSON: multipart forms)."""
    return _RAW_BODY.get()


_CLIENT_GONE: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar("client_gone", default=None)
# (path, echo text) of the request being served, while an echo knob is set
_ECHO: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("echo", default=None)


def echo_text(headers: dict[str, str], body: bytes) -> str:
    """What a careless vendor repeats: the credential headers (whole, bare and by their tail) and the body."""
    auth, api_key = headers.get("authorization", ""), headers.get("x-api-key", "")
    secret = api_key or auth.removeprefix("Bearer ")
    return (
        f"Invalid request. Authorization: {auth}; x-api-key: {api_key}; the key {secret} was refused "
        f"(key ending ...{secret[-8:]}). You sent: {body.decode('utf-8', 'replace')}"
    )


class _ClientWatch:
    """Notices a client that disconnects before its response is complete, and records it."""

    def __init__(self, fake: FakeVendor, receive: Any, send: Any, path: str) -> None:
        self._fake, self._send, self._path = fake, send, path
        self.complete = False
        self.gone = asyncio.Event()
        _CLIENT_GONE.set(self.gone)
        self._task = asyncio.ensure_future(self._watch(receive))

    async def _watch(self, receive: Any) -> None:
        # After the body, receive() returns only when the connection is lost or the response is complete.
        while (await receive())["type"] != "http.disconnect":
            pass
        if not self.complete:
            self._fake.disconnects.append(self._path)
            self.gone.set()

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            self.complete = True
        await self._send(message)

    async def hang(self) -> None:
        while not self.gone.is_set() and not self._fake._stopping:
            await asyncio.sleep(0.005)

    def stop(self) -> None:
        self._task.cancel()


def split_text(text: str, n: int) -> list[str]:
    """Split ``text`` into ``n`` contiguous non-empty pieces (fewer if text is shorter)."""
    n = max(1, min(n, len(text)))
    cuts = [len(text) * i // n for i in range(n + 1)]
    return [text[a:b] for a, b in itertools.pairwise(cuts)]


def text_len(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):  # content parts / prompt lists / token arrays
        return sum(text_len(p.get("text") if isinstance(p, dict) else p) for p in content)
    return 1 if isinstance(content, int) else 0  # a token id counts as one char
