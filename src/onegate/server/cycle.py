"""uvicorn's request/response cycle, with a response's head written together with its first body bytes.

uvicorn writes the status line and headers the moment `http.response.start` arrives, and each body
message in a write of its own: every non-stream answer cost two `send` syscalls on the event loop
(each one runs the loopback peer's TCP receive path too), and a stream's head went out alone before its
first event. `OneWriteCycle` holds the head until the first body message and writes both at once.
Measured at c=1 on one keep-alive connection (strace -c of the loop thread, chat): 3 → 2 writes a request.

Everything else is uvicorn's `RequestResponseCycle.send` (0.55), in the same order: flow control, the
ASGI message checks, header validation, Content-Length or chunked framing, HEAD, `connection: close`,
the access log; only a header the checks refuse now leaves the response unstarted, so uvicorn answers 500
instead of closing the connection. Header names and values are validated as uvicorn's own patterns do, over all of a
response's names (and values) at once instead of two regex calls per header; the regex was 2% of the event
loop's instructions per chat request even so (sre's charset loop, ~6 ns a byte: callgrind, bench/percall.py),
so names made of letters, digits and dashes skip it, and values are checked by `bytes.translate`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

_LARGE = 1 << 16  # bodies this big go out with the head by writelines (no copy), small ones by one concatenation
# every byte uvicorn's HEADER_VALUE_RE accepts in a header value: deleting them leaves what it would refuse
_VALUE_BYTES = bytes(b for b in range(256) if not HEADER_VALUE_RE.match(bytes([b])))


class DisconnectWatch:
    """The `onegate.watch_disconnect` scope extension of one request: call it with a callback to run when
    the client goes away before the response is complete (None: stop watching); it answers True if the
    client has already gone.

    It replaces a watcher task per request that waited in `receive()` for `http.disconnect` (a task, its
    steps, an Event waiter and a cancellation, each request). Watching resumes reading as that `receive()`
    did, so a hang-up is seen even while a pipelined request has paused it. An object of its own rather
    than a method of the cycle: the scope holds it, and a scope → cycle reference would make every request
    a reference cycle for the garbage collector."""

    __slots__ = ("_flow", "_callback", "gone")

    def __init__(self, flow: FlowControl) -> None:
        self._flow = flow
        self._callback: Callable[[], None] | None = None
        self.gone = False

    def __call__(self, callback: Callable[[], None] | None) -> bool:
        self._callback = callback
        if callback is not None:
            self._flow.resume_reading()
        return self.gone

    def client_left(self) -> None:
        self.gone = True
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()


class OneWriteCycle(RequestResponseCycle):
    _head: bytes | None = None  # the encoded status line and headers, until the first body message
    watch: DisconnectWatch | None = None

    async def send(self, message: Any) -> None:  # uvicorn's signature: an ASGI send event
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        kind = message["type"]
        if not self.response_started:
            if kind != "http.response.start":
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got '{kind}'.")
            # encoded (and checked) first: a header the checks refuse leaves the response unstarted, a 500
            self._head = self._encode_head(message["status"], message.get("headers", ()))
            self.response_started = True
            self.waiting_for_100_continue = False
            return
        if self.response_complete:
            raise RuntimeError(f"Unexpected ASGI message '{kind}' sent, after response already completed.")
        if kind != "http.response.body":
            raise RuntimeError(f"Expected ASGI message 'http.response.body', but got '{kind}'.")
        body: bytes = message.get("body", b"")
        more_body: bool = message.get("more_body", False)
        if self.scope["method"] == "HEAD":
            self.expected_content_length = 0
            out = b""
        elif self.chunked_encoding:
            out = b"%x\r\n%b\r\n" % (len(body), body) if body else b""
            if not more_body:
                out += b"0\r\n\r\n"
        else:
            if len(body) > self.expected_content_length:
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_content_length -= len(body)
            out = body
        head = self._head
        if head is not None:
            self._head = None
            if len(out) < _LARGE:
                self.transport.write(head + out)
            else:
                self.transport.writelines((head, out))
        elif out:
            self.transport.write(out)
        if not more_body:
            if self.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.message_event.set()
            if not self.keep_alive:
                self.transport.close()
            self.on_response()

    def _encode_head(self, status: int, app_headers: Any) -> bytes:
        headers = [*self.default_headers, *app_headers]
        names = b"".join([name for name, _ in headers])
        # letters, digits and dashes are all a name ever holds here: two C passes instead of the regex
        if not names.replace(b"-", b"").isalnum() and HEADER_RE.search(names):
            raise RuntimeError("Invalid HTTP header name.")
        if b"".join([value for _, value in headers]).translate(None, _VALUE_BYTES):  # what is left is refused
            raise RuntimeError("Invalid HTTP header value.")
        if self.access_log:
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(self.scope),
                self.scope["method"],
                get_path_with_query_string(self.scope),
                self.scope["http_version"],
                status,
            )
        content = [STATUS_LINE[status]]
        has_connection_close = False
        for name, value in headers:
            name = name.lower()
            if name == b"content-length" and self.chunked_encoding is None:
                self.expected_content_length = int(value.decode())
                self.chunked_encoding = False
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                self.expected_content_length = 0
                self.chunked_encoding = True
            elif name == b"connection" and b"close" in [token.lower().strip() for token in value.split(b",")]:
                self.keep_alive = False
                has_connection_close = True
            content.extend((name, b": ", value, b"\r\n"))
        if not self.keep_alive and not has_connection_close:
            content.append(b"connection: close\r\n")
        if self.chunked_encoding is None and self.scope["method"] != "HEAD" and status not in (204, 304):
            self.chunked_encoding = True  # neither Content-Length nor Transfer-Encoding given
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        return b"".join(content)
