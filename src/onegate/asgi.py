"""Thin ASGI plumbing: read a bounded body, send a response, and know whether the response has started."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from onegate import errors
from onegate.context import RequestContext
from onegate.diagnosis.hint import hint_header
from onegate.dialects.schema import check_depth
from onegate.errors import GatewayError
from onegate.observe.timing import server_timing

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# A scope extension of onegate's own server (server/cycle.py): register a callback for the client's hang-up.
WATCH_DISCONNECT = "onegate.watch_disconnect"
WatchDisconnect = Callable[[Callable[[], None] | None], bool]

JSON = b"application/json"
EVENT_STREAM = b"text/event-stream"


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise GatewayError(errors.CLIENT_DISCONNECTED, "The client closed the connection.")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise GatewayError(
                    errors.BODY_TOO_LARGE,
                    f"Request body is larger than the limit of {limit // (1024 * 1024)} MB.",
                )
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise GatewayError(
            errors.INVALID_JSON,
            f"The request body is not valid JSON ({exc.msg} at character {exc.pos}).",
        ) from None
    if not isinstance(data, dict):
        raise GatewayError(errors.INVALID_JSON, "The request body must be a JSON object.")
    check_depth(data, body)
    return data


async def wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class Responder:
    """Sends the response for one request and remembers what was sent, for the log and error handling."""

    __slots__ = ("_send", "ctx", "started", "finished", "_base_headers", "before_end", "watch_disconnect")

    def __init__(self, send: Send, ctx: RequestContext, watch_disconnect: WatchDisconnect | None = None) -> None:
        self._send = send
        self.ctx = ctx
        self.watch_disconnect = watch_disconnect  # the server's hook, when it has one (else a watcher task)
        self.started = False
        self.finished = False  # the last byte was handed to the server
        # called once the outcome is known and before the client can see the response complete: the
        # request is recorded there, so a process killed right after serving it has recorded it
        self.before_end: Callable[[], None] | None = None
        # CORS: browser-side clients (LobeChat client mode, web Chatbox) read our answers too
        self._base_headers = [(b"x-request-id", ctx.request_id.encode()), (b"access-control-allow-origin", b"*")]

    def without_cors(self, headers: list[tuple[bytes, bytes]]) -> None:
        """Pages and the admin API: no `access-control-allow-origin: *`, and `headers` instead."""
        self._base_headers = [self._base_headers[0], *headers]

    def _headers(self, content_type: bytes, extra: dict[str, str] | None) -> list[tuple[bytes, bytes]]:
        # where the time went so far, for browser devtools and `curl -v` (a stream's: up to its first event)
        headers = [(b"content-type", content_type), *self._base_headers, (b"server-timing", server_timing(self.ctx))]
        if self.ctx.config_hint:
            headers.append((b"x-onegate-hint", hint_header(self.ctx.config_hint, self.ctx.config_fix)))
        if extra:
            headers.extend((k.lower().encode(), v.encode()) for k, v in extra.items())
        return headers

    async def send_body(
        self, status: int, body: bytes, content_type: bytes = JSON, headers: dict[str, str] | None = None
    ) -> None:
        self.started = self.finished = True
        self.ctx.status = status
        self.ctx.mark_first_byte()
        if self.before_end is not None:
            self.before_end()
        head = self._headers(content_type, headers)
        head.append((b"content-length", b"%d" % len(body)))  # not chunked: the body goes out as it is
        await self._send({"type": "http.response.start", "status": status, "headers": head})
        await self._send({"type": "http.response.body", "body": body})

    async def start_body(self, status: int, content_type: bytes, headers: dict[str, str] | None = None) -> None:
        """Start a response whose body follows in `stream_chunk`s (a file streamed through: video content)."""
        self.started = True
        self.ctx.status = status
        await self._send(
            {"type": "http.response.start", "status": status, "headers": self._headers(content_type, headers)}
        )

    async def start_stream(
        self, status: int = 200, content_type: bytes = EVENT_STREAM, headers: dict[str, str] | None = None
    ) -> None:
        self.started = True
        self.ctx.status = status
        extra = {"cache-control": "no-cache", "x-accel-buffering": "no"}  # no proxy may buffer a stream
        await self._send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": self._headers(content_type, {**extra, **(headers or {})}),
            }
        )

    async def stream_chunk(self, chunk: bytes) -> None:
        self.ctx.mark_first_byte()
        await self._send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def end_stream(self) -> None:
        self.finished = True
        if self.before_end is not None:
            self.before_end()
        await self._send({"type": "http.response.body", "body": b""})


async def run_until_disconnect(work: Awaitable[None], receive: Receive, responder: Responder) -> bool:
    """Run `work` in this task; cancel it the moment the client disconnects. True when the client went away.

    onegate's server calls back on the hang-up (`responder.watch_disconnect`); under another server one
    watcher task waits for `http.disconnect`. Either cancels this task, and a flag tells that cancellation
    apart from a server shutdown. Once the response is complete the server reports `http.disconnect`
    too; that is the end of a served request, not a client leaving, so the work is left to finish.
    """
    current = asyncio.current_task()
    assert current is not None
    gone = False
    watching = True

    def left() -> None:
        nonlocal gone
        if responder.finished or not watching:  # complete, or this call was scheduled before the work ended
            return
        gone = True
        current.cancel()

    async def watch() -> None:
        await wait_for_disconnect(receive)
        left()

    hook = responder.watch_disconnect
    if hook is None:
        watcher: asyncio.Future[None] | None = asyncio.ensure_future(watch())
    else:
        watcher = None
        if hook(left):  # gone already: cancelled at the work's first wait, as the watcher task would
            current.get_loop().call_soon(left)
    try:
        await work
    except asyncio.CancelledError:
        if not gone:
            raise
        current.uncancel()
        return True
    finally:
        watching = False
        if watcher is not None:
            watcher.cancel()
        elif hook is not None:
            hook(None)
    return False


async def refuse_websocket(
    scope: dict[str, Any], receive: Receive, send: Send, status: int, body: bytes, request_id: str
) -> None:
    """Deny a WebSocket handshake with an HTTP response (a plain close where the server cannot send one)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" in (scope.get("extensions") or {}):
        headers = [(b"content-type", JSON), (b"x-request-id", request_id.encode()), (b"x-should-retry", b"false")]
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})  # the server answers 403
