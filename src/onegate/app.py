"""The ASGI application: one `Gateway` per process builds what the hot path serves from memory, runs its
start-up and shutdown, and dispatches each request to its endpoint with the `Services` handlers may use."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from importlib import import_module
from typing import Any

from onegate import errors
from onegate.accounting.alerts import SpendAlerts, Subject
from onegate.accounting.directory import Directory
from onegate.accounting.reservations import Reservations
from onegate.accounting.speculation import Speculation
from onegate.apikeys import KeyRecord
from onegate.asgi import WATCH_DISCONNECT, Receive, Responder, Send, refuse_websocket
from onegate.channels.book import ChannelBook
from onegate.channels.health import ChannelHealth
from onegate.context import RequestContext, new_request_id
from onegate.counters import open_counters
from onegate.diagnosis.clients import identify_client
from onegate.dialects.render import render_error
from onegate.errors import GatewayError
from onegate.keys.cache import KeyCache
from onegate.media.poller import Poller
from onegate.media.service import Media
from onegate.observe.observer import build_observer
from onegate.outages import Outage
from onegate.pipeline.admit import Admission
from onegate.pipeline.record import record
from onegate.providers.registry import ModelRegistry
from onegate.server.routes import SERVED, match, normalise, route_misconfigured
from onegate.server.services import Services
from onegate.settings import Settings
from onegate.setup.style import PAGE_CSP
from onegate.store import quickread
from onegate.store.deferred import deferred_engine
from onegate.store.private import private_dir
from onegate.store.writer import LogWriter
from onegate.surfaces import SurfaceId

log = logging.getLogger("onegate")

# What imports SQLAlchemy, which `onegate serve` loads after it answers (cli/launch.py): the log writer, the
# directory's reloads, the task poller. `load_store` imports them on a worker thread.
STORE_MODULES = (
    "onegate.store.ledger",
    "onegate.store.keys",
    "onegate.store.teams",
    "onegate.store.prices",
    "onegate.media.webhooks",
)
STORE_LOAD_DELAY = 1.0  # seconds after start-up: the first requests are served without it (`load_store`)

CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, DELETE, OPTIONS"),
    (
        b"access-control-allow-headers",
        b"authorization, content-type, x-api-key, api-key, x-goog-api-key, anthropic-version, anthropic-beta, "
        b"anthropic-dangerous-direct-browser-access, openai-organization, openai-project, x-stainless-arch, "
        b"x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, "
        b"x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout, x-stainless-async, "
        b"x-stainless-read-timeout, x-stainless-helper-method, x-stainless-stream-helper",
    ),
    (b"access-control-max-age", b"86400"),
]
# Pages and the admin API are not for other sites' scripts: no CORS, no sniffing, no framing, no referrer.
_NOSNIFF = (b"x-content-type-options", b"nosniff")
RESTRICTED_HEADERS: dict[str, list[tuple[bytes, bytes]]] = {
    "page": [
        _NOSNIFF,
        (b"content-security-policy", PAGE_CSP),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ],
    "admin": [_NOSNIFF, (b"cache-control", b"no-store"), (b"x-frame-options", b"DENY")],
    # the console sets its own CSP and cache-control per file (console/assets.py)
    "console": [_NOSNIFF, (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")],
}


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        private_dir(settings.data_dir)
        self.engine = deferred_engine(settings.database_url)  # SQLAlchemy: after the first answer on SQLite
        self.keys = KeyCache(self.engine)
        self.registry = ModelRegistry.from_settings(settings)
        self.counters = open_counters(settings)
        self.channels = ChannelBook.from_settings(settings, self.counters)
        self.health = ChannelHealth(self.channels, self.registry.channels, settings.data_dir, settings.routing)
        database = Outage("the database", logging.getLogger("onegate.store"))  # one line per outage
        self.directory = Directory(self.engine, self.keys, self.registry, self.counters, database)
        accounting = settings.accounting
        self.alerts = SpendAlerts(accounting.alerts, self.counters, self.engine, accounting.currency)
        self.reservations = Reservations(
            self.counters, accounting.reservation_ttl, self._spent, hold=accounting.pending_charge_ttl
        )
        speculation = Speculation(self.counters, accounting)
        self.admission = Admission(accounting, settings.model_groups, self.directory, self.reservations, speculation)
        self.writer = LogWriter(
            self.engine,
            settings.data_dir / "spill" / "request_logs.jsonl",
            max_queue=settings.log_queue_size,
            journal_dir=settings.data_dir / "journal" if settings.durable_writes else None,
            on_commit=self.reservations.committed,
            database=database,
        )
        self.media = Media(self.engine, self.registry, self.writer, self.reservations, settings.media)
        self.poller = Poller(self.media)
        self.observer = build_observer(
            settings,
            engine=self.engine,
            writer=self.writer,
            book=self.channels,
            reservations=self.reservations,
            registry=self.registry,
            directory=self.directory,
            counters=self.counters,
        )
        self.services = Services(
            settings,
            self.engine,
            self.keys,
            self.registry,
            self.channels,
            self.admission,
            self.writer,
            SERVED,
            self.media,
            self.reservations,
            self.directory.refresh,
            self.observer,
        )
        self._background: list[asyncio.Task[None]] = []

    # lifecycle -----------------------------------------------------------------------------------
    def prepare(self) -> quickread.Snapshot | None:
        """Blocking start-up work: schema, log writer (which replays what a crash left). On a SQLite database
        already at the latest version, the keys, teams and prices read without SQLAlchemy (else None)."""
        snapshot = quickread.read(self.settings.database_url)
        if snapshot is None:
            from onegate.store.migrations import migrate

            migrate(self.engine)
        self.writer.start()
        return snapshot

    async def startup(self) -> None:
        self.reservations.bind(asyncio.get_running_loop())
        snapshot = await asyncio.to_thread(self.prepare)
        await self.directory.start(snapshot)  # keys, teams, prices; balances and key spend into the counters
        tasks = [
            self.directory.poll_forever(self.settings.key_refresh_seconds),
            self.reservations.renew_forever(),
            self.health.run_forever(),
            self.poller.run_forever(),  # video tasks and their callbacks
            self.media.renew_forever(),
        ]
        if self.settings.log_retention_days:
            from onegate.store.log_queries import prune_forever

            tasks.append(prune_forever(self.engine, self.settings.log_retention_days))
        if self.settings.accounting.alerts.enabled:
            tasks.append(self.alerts.run_forever())
        if self.settings.redis_url:
            from onegate.counters.pubsub import listen

            tasks.append(listen(self.settings.redis_url, self.settings.redis_prefix, self.directory.refresh))
        self._background = [asyncio.create_task(t) for t in tasks]
        tune_gc()
        self._background.append(asyncio.create_task(load_store()))

    async def shutdown(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.health.stop()
        await self.channels.store.close()
        if self.registry.sessions is not None:
            await self.registry.sessions.close()
        await asyncio.to_thread(self.writer.close)
        await asyncio.sleep(0)  # let the writer's last commit callbacks run
        await self.counters.close()
        await self.alerts.close()
        await self.observer.close()
        self.engine.dispose()

    def _spent(self, key: KeyRecord, now: float) -> None:
        self.alerts.saw(Subject("key", key.id, key.team_id, key.name), now)
        team = self.directory.team(key.team_id) if key.team_id is not None else None
        if team is not None:
            self.alerts.saw(Subject("team", team.id, team.id, team.name), now)

    # ASGI ----------------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.handle(scope, receive, send)
        elif kind == "websocket":
            await self.refuse_websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        if method == "OPTIONS":
            await _preflight(send, cors=not normalise(scope["path"]).startswith("/admin/"))
            return
        route, path_known = match(method, scope["path"])
        ctx = _new_context(scope, method, route.dialect if route else "openai_chat")
        extensions = scope.get("extensions")
        responder = Responder(send, ctx, extensions.get(WATCH_DISCONNECT) if extensions else None)
        if route is not None and route.dialect in RESTRICTED_HEADERS:
            responder.without_cors(RESTRICTED_HEADERS[route.dialect])
        elif route is None and normalise(scope["path"]).startswith("/admin/"):  # even its 404s
            responder.without_cors(RESTRICTED_HEADERS["admin"])

        def finish() -> None:  # before the last byte leaves, else at the end (record runs once)
            if not ctx.recorded and (route is None or route.logged or ctx.config_hint):
                record(ctx, self.writer, self.reservations)
                if self.observer.watching:
                    self.observer.finished(ctx)

        responder.before_end = finish
        try:
            if route is None:
                query = (scope.get("query_string") or b"").decode("latin-1")
                route = route_misconfigured(ctx, self.settings, scope["path"], query, path_known)
            await route.handler(self.services, ctx, responder, receive)
        except GatewayError as err:
            await self._fail(ctx, responder, err)
        except Exception:  # a bug: answer in the caller's dialect and keep the evidence
            log.exception("unhandled error in %s %s (%s)", method, scope["path"], ctx.request_id)
            await self._fail(ctx, responder, GatewayError(errors.INTERNAL_ERROR, "Internal error in onegate."))
        finally:
            finish()

    async def refuse_websocket(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """A WebSocket upgrade gets a prompt 426, so a client that tries one first (Codex) falls back to HTTP."""
        route, _ = match("POST", scope["path"])
        ctx = _new_context(scope, "GET", route.dialect if route else "openai_chat")
        error = GatewayError(
            errors.WEBSOCKET_NOT_SUPPORTED,
            f"{scope['path']} does not accept WebSocket connections; onegate serves its API over HTTP "
            f"(POST {self.settings.public_base_url(ctx.headers)}/responses for the Responses API).",
        )
        ctx.status, ctx.error_code, ctx.error_message = error.status, error.kind.code, error.message
        try:
            body = render_error(ctx.dialect, error, ctx.request_id)
            await refuse_websocket(scope, receive, send, error.status, body, ctx.request_id)
        finally:
            record(ctx, self.writer)

    async def _fail(self, ctx: RequestContext, responder: Responder, err: GatewayError) -> None:
        ctx.error_code = err.kind.code
        ctx.error_message = err.message
        if err.hint and not ctx.config_hint:
            ctx.config_hint, ctx.config_fix = err.hint, err.fix
        if responder.started:
            return
        ctx.status = err.status
        if err.kind is errors.CLIENT_DISCONNECTED:
            return
        await responder.send_body(
            err.status, render_error(ctx.dialect, err, ctx.request_id), headers=err.response_headers()
        )


def _new_context(scope: dict[str, Any], method: str, dialect: SurfaceId) -> RequestContext:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    raw_path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    path = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
    # positional, then `peer`: a class called with keywords gets them as a dict, and this one then matches
    # them against its 36 fields (2.1 → 0.9 µs a request, timeit)
    ctx = RequestContext(new_request_id(), method, path, headers, identify_client(headers), dialect)
    ctx.peer = (scope.get("client") or ("",))[0]
    return ctx


async def _preflight(send: Send, cors: bool) -> None:
    """CORS for the API; the admin API answers without it, so browsers refuse other origins' calls."""
    await send({"type": "http.response.start", "status": 204, "headers": CORS_HEADERS if cors else []})
    await send({"type": "http.response.body", "body": b""})


def tune_gc() -> None:
    """Keep the cyclic garbage collector off the hot path, and its garbage small.

    Profiling under load showed ~16% of CPU in gc_collect: passes walked the hundreds of thousands of
    long-lived objects that imports create. Freezing them after start-up removes that: a pass now walks only
    what was created since (about 5,000 objects when idle), so even a full one takes about a millisecond.
    No collection before the freeze: at that point it found nothing to free (0 of ~55,000 objects) yet was
    the largest single step of start-up after the imports (~40 ms on a busy 2-core machine).

    The thresholds bound the garbage in cycles (exceptions and their frames, connections closed by either
    side), which only a collection frees. A pass runs when tracked objects outnumber the freed ones by the
    first threshold, which under load is nearly the count of such garbage: at 50,000 (as before) GC-tracked
    objects swung between 13,000 and 58,000 and RSS kept the high-water mark, +7 MiB in a 10-minute soak; at
    5,000, with the two largest cycles broken (providers/h1.py, pipeline/forward.py), they stay under 12,500
    and RSS grew 1.1 MiB, for about 1 µs of collections a request (bench/soak, "Memory over time", "GC ms").
    `onegate serve` turns the collector off before its imports (cli/launch.py); it comes back on here.
    """
    gc.freeze()
    gc.set_threshold(5_000, 5, 5)
    gc.enable()


async def load_store(delay: float = STORE_LOAD_DELAY) -> None:
    """Import the store's modules (SQLAlchemy) off the event loop, then freeze what they made, as `tune_gc`
    froze start-up's: else every full collection walked their ~40,000 objects.

    Not at once: an import on another thread still takes the GIL from the loop in 5 ms slices, and started
    with the server it overlapped the first requests (callgrind, bench/startup.py: 904 M instructions to the
    first answer when it ran after it, 1,158 M when it ran alongside). The log writer imports SQLAlchemy
    for its first batch, if one comes sooner; the background loops wait about as long (their first sleep)."""
    await asyncio.sleep(delay)
    await asyncio.to_thread(lambda: [import_module(name) for name in STORE_MODULES])
    gc.freeze()


def create_app(settings: Settings) -> Gateway:
    return Gateway(settings)


def app_from_environment() -> Gateway:
    """The app of one `onegate serve --workers N` worker: settings from ONEGATE_* variables."""
    from onegate.settings import load_settings

    return Gateway(load_settings())
