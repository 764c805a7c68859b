"""How onegate runs under uvicorn: one options builder that `onegate serve` and the tests both use.

uvicorn alone does not stop a slow client from holding a connection: with httptools there is no limit on
how long request headers may take to arrive (its keep-alive timeout only runs between requests), nor on
a body that trickles in. `GuardedHttpToolsProtocol` adds both (and writes each response's head with its
first body bytes, `server/cycle.py`), and `limit_concurrency` answers 503 past
the configured number of connections and requests in flight. Forwarded headers are believed only from
`server.trusted_proxies`, and every log line goes through `logsafe.EscapeControls`.
"""

from __future__ import annotations

import asyncio
import copy
import functools
from collections.abc import Callable
from typing import Any

from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from onegate.asgi import WATCH_DISCONNECT
from onegate.server.cycle import DisconnectWatch, OneWriteCycle
from onegate.settings import ServerConfig, Settings

_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """httptools' protocol with a deadline for the request headers and an idle limit on the body.

    One timer per connection, in force only while the client owes us bytes: from the connection (or the first
    byte of a further request) until the headers are complete, then while the body is incomplete, pushed
    back by each chunk. It is idle while onegate works on the answer, so long streams are unaffected.

    The same timer closes a keep-alive connection left idle `timeout_keep_alive` seconds after a response,
    which uvicorn does with a `call_later` per response, cancelled by the next request's first bytes.
    The timer is not cancelled when a request is complete, only marked as owed nothing: the next request or
    idle spell moves its deadline, and it re-arms itself for the rest when it fires early. The two timers
    made and cancelled per keep-alive request were ~2% of the event loop's instructions (callgrind,
    bench/percall.py); now a busy connection makes one timer every few seconds.
    """

    def __init__(self, *args: Any, header_timeout: float, body_idle_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._body_idle_timeout = body_idle_timeout
        self._guard: asyncio.TimerHandle | None = None
        self._guard_at = 0.0  # the loop time the timer fires at
        self._guard_until = 0.0  # the loop time the current deadline falls on
        self._owed = False  # a request's headers or body are incomplete
        self._in_body = False
        self._idle_until: float | None = None  # answered and waiting for a next request: closed at that time

    def _arm(self, seconds: float) -> None:
        self._owed = True
        self._guard_until = until = self.loop.time() + seconds
        self._schedule(until)

    def _schedule(self, until: float) -> None:
        if self._guard is not None and self._guard_at <= until:
            return  # it fires first, and re-arms for the rest
        self._disarm()
        self._guard_at = until
        self._guard = self.loop.call_at(until, self._expire)

    def _disarm(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None

    def _expire(self) -> None:
        self._guard = None
        if self.transport is None or self.transport.is_closing():
            return
        now = self.loop.time()
        if not self._owed:
            idle_until = self._idle_until
            if idle_until is None:  # onegate is working on an answer: nothing to time
                return
            if now < idle_until:
                self._schedule(idle_until)
            else:
                self.transport.close()  # idle past the keep-alive timeout (uvicorn's timeout_keep_alive_handler)
            return
        if self.flow is not None and self.flow.read_paused:  # we stopped reading (onegate is behind), not them
            self._guard_until = now + self._body_idle_timeout
        if now < self._guard_until:  # the body moved since, or a later request began: wait out the rest
            self._guard_at = self._guard_until
            self._guard = self.loop.call_at(self._guard_until, self._expire)
            return
        if not self._in_body and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(_REQUEST_TIMEOUT)  # nothing of ours is on the wire: say why
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
        cycle = self.cycle
        if isinstance(cycle, OneWriteCycle) and cycle.disconnected and cycle.watch is not None:
            cycle.watch.client_left()  # uvicorn marks the cycle of a response not yet complete

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._owed:  # (owed: the connection's first request, whose deadline runs from the connect)
            self._arm(self._header_timeout)

    def on_headers_complete(self) -> None:
        self._in_body = True
        self._guard_until = self.loop.time() + self._body_idle_timeout
        super().on_headers_complete()
        # uvicorn builds the cycle here and only schedules its task: the class can still change before the
        # app is called with its `send` (the head goes out with the first body bytes, server/cycle.py)
        cycle = self.cycle
        if type(cycle) is RequestResponseCycle:
            cycle.__class__ = OneWriteCycle
            # the app hears of a client's hang-up from here, with no task of its own (asgi.run_until_disconnect)
            cycle.watch = watch = DisconnectWatch(self.flow)  # type: ignore[attr-defined]
            self.scope["extensions"] = {WATCH_DISCONNECT: watch}  # type: ignore[dict-item]

    def on_body(self, body: bytes) -> None:
        self._guard_until = self.loop.time() + self._body_idle_timeout
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = self._owed = False
        super().on_message_complete()

    def _unset_keepalive_if_required(self) -> None:  # uvicorn's name: bytes came, or a response completed
        self._idle_until = None
        super()._unset_keepalive_if_required()

    def on_response_complete(self) -> None:
        """uvicorn's (0.55), with the keep-alive timeout left to this protocol's one timer."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:  # pipelined requests start as the one before them completes
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._idle_until = until = self.loop.time() + self.timeout_keep_alive
            self._schedule(until)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the connection now belongs to the WebSocket protocol
        super().handle_websocket_upgrade()


def log_config(access_log: bool) -> dict[str, Any]:
    """uvicorn's logging, with control characters escaped on every handler and onegate's loggers
    (through the root logger) written to stderr in the same format."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"escape_controls": {"()": "onegate.logsafe.EscapeControls"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["escape_controls"]
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    config["loggers"]["uvicorn"]["level"] = config["loggers"]["uvicorn.error"]["level"] = "WARNING"
    config["loggers"]["uvicorn.access"]["level"] = "INFO" if access_log else "WARNING"
    return config


def http_protocol(server: ServerConfig) -> Callable[..., GuardedHttpToolsProtocol]:
    """uvicorn's `http` option: the protocol class with this server's timeouts (the tests' servers use it too)."""
    return functools.partial(
        GuardedHttpToolsProtocol, header_timeout=server.header_timeout, body_idle_timeout=server.body_idle_timeout
    )


def websocket_protocol(**kwargs: Any) -> asyncio.Protocol:
    """uvicorn's own choice of WebSocket protocol ("auto"), imported on the first upgrade request, not at start:
    the `websockets` package loaded at start for nothing: onegate only refuses WebSockets (with uvicorn's CLI,
    `server.uvicorn_core`, 88 M of 1,714 M instructions from spawn to the first answer, callgrind).
    """
    from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

    assert AutoWebSocketsProtocol is not None  # `websockets` is a dependency
    return AutoWebSocketsProtocol(**kwargs)


def uvicorn_options(settings: Settings, workers: int = 1, configure_logging: bool = True) -> dict[str, Any]:
    """Everything `uvicorn.run`/`uvicorn.Config` needs besides the app. `configure_logging=False` leaves the
    process's logging alone (a test running the server in a thread of pytest)."""
    server: ServerConfig = settings.server
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": workers,
        "loop": "uvloop",
        "http": http_protocol(server),
        "ws": websocket_protocol,
        "log_level": None if configure_logging else "warning",  # levels are in log_config
        "log_config": log_config(server.access_log) if configure_logging else None,
        "access_log": server.access_log,
        "timeout_keep_alive": server.keep_alive_timeout,
        "limit_concurrency": server.max_concurrency,
        # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1: any local client could pick the
        # address its key failures count against, or pin them on someone else's
        "proxy_headers": bool(server.trusted_proxies),
        "forwarded_allow_ips": list(server.trusted_proxies) or [],
        "timeout_graceful_shutdown": 30,
        "lifespan": "on",
    }
