"""A lean Redis client for the request path: one connection, any number of commands in flight.

Redis answers in order, so a queue of futures matches replies to commands; commands issued in the same
event-loop turn leave in one write. That makes an admission one round trip with no pool to wait for,
and settlements batch themselves under load. (redis-py costs ~2× the CPU per call and a connection per
concurrent call; it stays for pub/sub and the CLI.) Replies are parsed by hiredis.

Every command has a deadline (`timeout`): a frozen or unreachable Redis fails the request path fast
instead of holding it. When the oldest command is late, the connection is dropped and every command on
it fails: its replies can no longer be trusted to arrive, and commands stuck in it must not pile up. One
timer per connection watches the oldest command (replies come in order), so a command costs no timer.

A `lazy` command (a count nobody waits for) asks for no write of its own: it leaves with the next command
that does, or within `LAZY_SECONDS`. The channel's success counts of a request then leave with its
settlement, one write and one wake-up of Redis instead of two.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis

from onegate.outages import outage_of, redis_name

log = logging.getLogger("onegate.counters")
LAZY_SECONDS = 0.005  # a lazy command waits at most this long for company (or a quarter of the timeout)


class RedisError(Exception):
    """An error reply, or the connection failed."""


def encode(args: tuple[Any, ...]) -> bytes:
    """One command in RESP (hiredis does it in C: several times faster than a Python loop)."""
    return hiredis.pack_command(args)


class _Protocol(asyncio.Protocol):
    def __init__(self, client: RespClient) -> None:
        self._client = client
        self._reader = hiredis.Reader(replyError=RedisError)
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._client._transport is not self._transport:
            return  # a connection already dropped: its commands have failed, its replies match nothing
        self._reader.feed(data)
        waiting = self._client._waiting
        while True:
            reply = self._reader.gets()
            if reply is False:
                return
            future = waiting.popleft()
            self._client._deadlines.popleft()
            if not future.done():
                if isinstance(reply, RedisError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._client._transport is self._transport:  # not a connection dropped earlier
            self._client._lost(exc)


class RespClient:
    def __init__(self, url: str, timeout: float = 0.25) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._ssl = ssl.create_default_context() if parts.scheme == "rediss" else None
        self._db = int(parts.path.strip("/") or 0)
        self._auth = [unquote(p) for p in (parts.username, parts.password) if p]
        self._transport: asyncio.Transport | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._deadlines: deque[float] = deque()  # loop time by which each waiting command must be answered
        self._watch: asyncio.TimerHandle | None = None
        self._out: list[bytes] = []
        self._flushing = False  # a write is due this loop turn
        self._lazy: asyncio.TimerHandle | None = None  # the write due for lazy commands, if nothing goes sooner
        self._scripts: dict[str, str] = {}  # sha1 -> source
        self.timeout = timeout
        self.on_answer: Callable[[float], None] | None = None  # told each awaited command's seconds (metrics)
        self._retry_at = 0.0  # after a failed connect: fail at once until then (no connect per request)
        self.outage = outage_of(redis_name(url), log)

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(lambda: _Protocol(self), self._host, self._port, ssl=self._ssl)
        transport, _ = await asyncio.wait_for(connecting, self.timeout)
        self._transport = transport
        setup = []
        if self._auth:
            setup.append(self._send(("AUTH", *self._auth)))
        if self._db:
            setup.append(self._send(("SELECT", self._db)))
        # scripts first: what follows on this connection finds them (no NOSCRIPT, no reordering)
        setup += [self._send(("SCRIPT", "LOAD", source)) for source in self._scripts.values()]
        try:
            await asyncio.gather(*setup)
        except BaseException:
            transport.close()
            raise
        self.outage.ok()

    async def _ready(self) -> None:
        if self._transport is not None:
            return
        if self._connecting is None:
            if time.monotonic() < self._retry_at:
                raise RedisError(f"cannot connect to Redis at {self._host}:{self._port} (retrying shortly)")
            self._connecting = asyncio.ensure_future(self._connect())
        try:
            await asyncio.shield(self._connecting)
        except (OSError, TimeoutError, RedisError) as exc:
            self._retry_at = time.monotonic() + self.timeout
            detail = str(exc) or "timed out"
            self.outage.failed(detail)
            raise RedisError(f"cannot connect to Redis at {self._host}:{self._port}: {detail}") from exc
        finally:
            if self._connecting is not None and self._connecting.done():
                self._connecting = None

    def _send(self, args: tuple[Any, ...], lazy: bool = False) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append(future)
        self._deadlines.append(loop.time() + self.timeout)
        if self._watch is None:
            self._watch = loop.call_at(self._deadlines[0], self._check_deadline)
        if not self._flushing:
            if not lazy:
                self._flushing = True
                loop.call_soon(self._flush)
            elif self._lazy is None:
                self._lazy = loop.call_later(min(LAZY_SECONDS, self.timeout / 4), self._flush)
        self._out.append(encode(args))
        return future

    def _check_deadline(self) -> None:
        """The oldest command's deadline came: if it is still unanswered, Redis is stuck; else watch the next."""
        self._watch = None
        if not self._deadlines:
            return
        loop = asyncio.get_running_loop()
        if self._deadlines[0] <= loop.time():
            reason = f"Redis did not answer within {self.timeout:g} s"
            self.outage.failed(reason)
            self._drop(RedisError(reason))
        else:
            self._watch = loop.call_at(self._deadlines[0], self._check_deadline)

    def _flush(self) -> None:
        self._flushing = False
        self._stop_lazy()
        out, self._out = self._out, []
        if self._transport is not None and out:
            self._transport.write(b"".join(out))

    def _stop_lazy(self) -> None:
        if self._lazy is not None:
            self._lazy.cancel()
            self._lazy = None

    def _lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.outage.failed(exc)
        self._drop(RedisError(f"connection to Redis lost: {exc or 'closed'}"))

    def _drop(self, error: RedisError) -> None:
        """Close the connection and fail every command on it; the next call connects anew."""
        transport, self._transport = self._transport, None
        self._out = []
        self._stop_lazy()
        waiting, self._waiting = self._waiting, deque()
        self._deadlines = deque()
        if transport is not None:
            transport.abort()
        for future in waiting:
            if not future.done():
                future.set_exception(error)
                future.exception()  # a fire-and-forget command's failure is reported by its owner, if at all

    @property
    def connected(self) -> bool:
        return self._transport is not None

    async def call(self, *args: Any) -> Any:
        if self._transport is None:  # connected: no coroutine to await first (admission's hot path)
            await self._ready()
        if self.on_answer is None:
            return await self._send(args)
        began = time.perf_counter()
        try:
            return await self._send(args)
        finally:
            self.on_answer(time.perf_counter() - began)

    def send(self, *args: Any, lazy: bool = False) -> asyncio.Future[Any]:
        """Send on the open connection without waiting; the future says how it went. `lazy`: with the next
        write (see the module's docstring)."""
        if self._transport is None:
            raise RedisError("not connected to Redis")
        return self._send(args, lazy)

    # scripts ---------------------------------------------------------------------------------------
    def script(self, source: str) -> str:
        sha = hashlib.sha1(source.encode()).hexdigest()
        self._scripts[sha] = source
        return sha

    async def close(self) -> None:
        self._flush()  # lazy commands still waiting for company
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None
