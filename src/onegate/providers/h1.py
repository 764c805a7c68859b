"""The hot path's upstream client: HTTP/1.1 over pooled keep-alive connections, parsed by httptools.

Why not aiohttp here: measured per request against the same fake upstream (16 concurrent, uvloop), aiohttp's
client cost 150-280 µs of CPU, pyreqwest 64-68 µs (plus a Rust thread hop per wake-up), this 33-46 µs; in
the gateway under load aiohttp was 29% of the event loop's samples (py-spy). aiohttp stays for everything
else (media uploads and downloads, `HttpChannel.call`); this serves only `HttpChannel.send`, one POST with
a body already in memory, whose caller always bounds the wait (first byte, idle, total) with its own timer.

What it keeps of aiohttp's behaviour: one pool per origin (unbounded, idle connections closed after
`keepalive` seconds), TLS with the system's certificate store and hostname check, a connect timeout,
chunked, Content-Length and close-delimited bodies, gzip/deflate answers decompressed, reading paused
while a slow reader has more than `HIGH_WATER` bytes waiting, and every failure raised as one of the
provider protocol's exceptions (`UpstreamConnectError`, `UpstreamTimeout`, `UpstreamBroken`,
`UpstreamBadResponse`) with the same words `transport_error` gives aiohttp's. No proxies (aiohttp used
none either: it was not told to trust the environment).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import zlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohappyeyeballs
import httptools

from onegate.providers.protocol import UpstreamBadResponse, UpstreamBroken, UpstreamConnectError, UpstreamTimeout

HIGH_WATER = 1 << 20  # buffered body bytes at which reading from the socket pauses until the reader catches up
_NO_BODY = (204, 304)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a channel's base URL points: the pool key, and what each request line and Host header need."""

    scheme: str
    host: str
    port: int
    prefix: str  # the base URL's path, to which an endpoint is appended
    host_header: bytes


def parse_origin(base_url: str) -> Origin:
    """The origin of an http(s) base URL; ValueError for anything else (the caller words the error)."""
    parts = urlsplit(base_url)
    port = parts.port  # ValueError for a port that is not a number
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(base_url)
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port is None or port == default else f"{shown}:{port}"
    return Origin(parts.scheme, host, port or default, parts.path.rstrip("/"), host_header.encode("idna"))


def encode_headers(headers: Mapping[str, str]) -> bytes:
    """Header lines, each ending in CRLF; a value that would break the request's framing is refused."""
    lines = []
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise ValueError(f"header {name!r} cannot be sent")
        lines.append(f"{name}: {value}\r\n")
    text = "".join(lines)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode()


class _Connection(asyncio.Protocol):
    """One keep-alive connection and the state of the response being read on it."""

    def __init__(self, pool: Pool, key: tuple[str, str, int]) -> None:
        self.pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None  # None again once the connection is lost
        # made with the connection, so one that never connects (cancelled, refused) holds no cycle
        self.parser: httptools.HttpResponseParser | None = None
        self.lost = False
        self.idle = False  # in the pool: bytes arriving now answer nothing we asked, and end the connection
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.headers_done = False
        self.complete = False
        self.keep_alive = False  # the answer allows another request on this connection (read at its end)
        self.error: BaseException | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False
        self.waiter: asyncio.Future[None] | None = None

    # asyncio.Protocol -------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.parser = httptools.HttpResponseParser(self)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if self.idle or parser is None:
            self.abort()
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ValueError("the upstream switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(ValueError(f"malformed HTTP from the upstream ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.pool.forget(self)
        # Two reference cycles end here: uvloop's transport keeps our bound `data_received` after the
        # connection is gone (transport → self → transport), and the parser holds our callbacks. Left in
        # place, every closed connection (an aborted stream, a client that hung up, an expired idle one)
        # waits for the cyclic GC with its buffers; bench/soak counted ~900 of them, ~20,000 objects, at a time.
        self.transport = None
        self.parser = None
        if self.complete:
            return
        if self.headers_done and self._ends_at_eof():
            self.complete = True
        elif self.error is None:
            self.error = exc or ConnectionResetError("Server disconnected")
        self._wake()

    def pause_writing(self) -> None:  # the request is written whole; nothing to throttle
        pass

    def resume_writing(self) -> None:
        pass

    # httptools callbacks ----------------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        assert self.parser is not None  # called from within feed_data
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
            self.headers = {}
            return
        self.status = status
        self.headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self.headers_done:  # the end of an interim answer
            return
        assert self.parser is not None  # called from within feed_data
        self.keep_alive = self.parser.should_keep_alive()  # the parser forgets once the callback returns
        self.complete = True
        self._wake()

    # ------------------------------------------------------------------------------------------------
    def _ends_at_eof(self) -> bool:
        """A body without Content-Length or chunked framing ends when the upstream closes the connection."""
        h = self.headers
        return (
            "content-length" not in h and "chunked" not in h.get("transfer-encoding", "").lower()
        ) or self.status in _NO_BODY

    def _fail(self, exc: BaseException) -> None:
        if self.error is None and not self.complete:
            self.error = exc
        self.abort()
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until something changes: headers, body bytes, the end, or a failure. Cancelling loses nothing."""
        self.waiter = self.pool.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    def take(self) -> list[bytes]:
        """The body bytes received so far (the socket is read again if it was paused for them)."""
        out = list(self.chunks)
        self.chunks.clear()
        self.buffered = 0
        if self.paused and self.transport is not None and not self.lost:
            self.paused = False
            self.transport.resume_reading()
        return out

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.lost and self.error is None

    def abort(self) -> None:
        if self.transport is not None and not self.lost:
            self.transport.abort()  # an unfinished stream must stop generating (and billing) upstream
        self.lost = True
        self.pool.forget(self)


class Pool:
    """Keep-alive connections per origin, for one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, keepalive: float = 30.0) -> None:
        self.loop = loop
        self.keepalive = keepalive
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._all: set[_Connection] = set()
        self._sweep: asyncio.TimerHandle | None = None
        self._tls: ssl.SSLContext | None = None

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def _connection(self, origin: Origin, connect_timeout: float) -> _Connection:
        key = (origin.scheme, origin.host, origin.port)
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.lost:
                conn.idle = False
                conn._reset()
                return conn
        conn = _Connection(self, key)
        tls = self._tls_context() if origin.scheme == "https" else None
        deadline = self.loop.time() + connect_timeout
        async with asyncio.timeout_at(deadline):
            # IPv6 and IPv4 raced as aiohttp does (uvloop's create_connection has no happy eyeballs of its own)
            addresses = await self.loop.getaddrinfo(origin.host, origin.port, type=socket.SOCK_STREAM)
            sock = await aiohappyeyeballs.start_connection(addresses, happy_eyeballs_delay=0.25, loop=self.loop)
        try:
            # The TLS handshake's own timeout, not a cancellation: uvloop leaks the transport of a handshake
            # cancelled midway.
            await self.loop.create_connection(
                lambda: conn,
                sock=sock,
                ssl=tls,
                server_hostname=origin.host if tls else None,
                ssl_handshake_timeout=max(deadline - self.loop.time(), 0.001) if tls else None,
            )
        except ConnectionAbortedError as exc:
            sock.close()
            raise TimeoutError from exc  # the handshake did not finish in time
        except BaseException:
            sock.close()
            raise
        self._all.add(conn)
        return conn

    def release(self, conn: _Connection) -> None:
        if not conn.reusable():
            conn.abort()
            return
        conn.idle = True
        conn.idle_since = self.loop.time()
        self._idle.setdefault(conn.key, []).append(conn)
        if self._sweep is None:
            self._sweep = self.loop.call_later(self.keepalive, self._expire)

    def _expire(self) -> None:
        """Close connections idle for `keepalive` seconds (fewer fds, and none the upstream closes under us);
        come back when the next one is due."""
        self._sweep = None
        oldest_kept = self.loop.time() - self.keepalive
        next_due: float | None = None
        for idle in self._idle.values():
            for conn in [c for c in idle if c.lost or c.idle_since <= oldest_kept]:
                idle.remove(conn)
                conn.abort()
            if idle:
                due = min(c.idle_since for c in idle) + self.keepalive
                next_due = due if next_due is None else min(next_due, due)
        if next_due is not None:
            self._sweep = self.loop.call_at(next_due, self._expire)

    def forget(self, conn: _Connection) -> None:
        self._all.discard(conn)

    async def request(
        self,
        origin: Origin,
        target: bytes,
        headers: bytes,
        body: tuple[bytes | memoryview, ...],
        connect_timeout: float,
    ) -> H1Response:
        """POST `body` to `origin` + `target` with these header lines; returns once the status line and
        headers are in. Raises the provider protocol's exceptions, naming no URL (the caller adds it)."""
        try:
            conn = await self._connection(origin, connect_timeout)
        except TimeoutError:
            raise UpstreamTimeout("connect") from None
        except (OSError, ssl.CertificateError) as exc:  # refused, DNS, TLS handshake or certificate
            raise UpstreamConnectError(str(exc) or type(exc).__name__) from exc
        size = sum(len(piece) for piece in body)
        head = b"POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %d\r\n\r\n" % (
            target,
            origin.host_header,
            headers,
            size,
        )
        try:
            transport = conn.transport
            if transport is None:  # lost between connecting and now
                raise _broken(conn.error or ConnectionResetError("Server disconnected"))
            if len(body) == 1 and size < 65536:
                transport.write(head + body[0])
            else:
                transport.writelines([head, *body])
            while not conn.headers_done:
                if conn.error is not None:
                    raise _broken(conn.error)
                await conn.wait()
        except BaseException:
            conn.abort()  # cancelled or failed before the answer: nothing may keep talking on this connection
            raise
        return H1Response(conn)

    def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for conn in list(self._all):
            conn.abort()
        self._idle.clear()


def _broken(exc: BaseException) -> Exception:
    if isinstance(exc, ValueError):
        return UpstreamBadResponse(str(exc))
    return UpstreamBroken(str(exc) or type(exc).__name__)


class H1Response:
    """The upstream's answer: status and headers at once, the body read whole or chunk by chunk."""

    __slots__ = ("_conn", "status", "headers", "_inflate", "_raw_deflate")

    def __init__(self, conn: _Connection) -> None:
        self._conn: _Connection | None = conn
        self.status = conn.status
        self.headers: Mapping[str, str] = conn.headers  # names in lower case
        encoding = conn.headers.get("content-encoding", "").strip().lower()
        # gzip, or deflate as zlib data (47: either header, detected); raw deflate is switched to on error
        self._inflate = zlib.decompressobj(47) if encoding in ("gzip", "x-gzip", "deflate") else None
        self._raw_deflate = encoding == "deflate"  # until the first bytes decode as zlib data

    async def read(self) -> bytes:
        parts: list[bytes] = []
        try:
            while True:
                chunk = await self.next_chunk()
                if chunk is None:
                    return parts[0] if len(parts) == 1 else b"".join(parts)
                parts.append(chunk)
        finally:
            self.close()

    async def next_chunk(self) -> bytes | None:
        conn = self._conn
        while conn is not None:
            if conn.chunks:
                try:
                    out = self._decoded(conn.take())
                except zlib.error:
                    self.close()
                    raise UpstreamBroken("the upstream's compressed body is corrupt") from None
                if out:
                    return out
                continue
            if conn.complete:
                self._release()
                tail = self._inflate.flush() if self._inflate is not None else b""
                self._inflate = None
                return tail or None
            if conn.error is not None:
                error = conn.error
                self.close()
                raise _broken(error)
            await conn.wait()
        return None

    def has_chunk(self) -> bool:
        conn = self._conn
        if conn is None or conn.complete or conn.error is not None:
            return True
        return self._inflate is None and conn.buffered > 0  # (compressed bytes may decode to nothing yet)

    def _decoded(self, chunks: list[bytes]) -> bytes:
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if self._inflate is None:
            return data
        try:
            out = self._inflate.decompress(data)
        except zlib.error:
            if not self._raw_deflate:
                raise
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # deflate sent raw, as some servers do
            out = self._inflate.decompress(data)
        self._raw_deflate = False
        return out

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.pool.release(conn)

    def close(self) -> None:
        """Give the connection back when the answer was read whole; otherwise close it, so an unfinished
        stream stops upstream."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if conn.complete and not conn.chunks:
            conn.pool.release(conn)
        else:
            conn.abort()
