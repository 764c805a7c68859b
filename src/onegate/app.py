"""The ASGI application: one `Gateway` per process, holding what the hot path serves from memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from typing import Any

from onegate import errors
from onegate.accounting.alerts import SpendAlerts, Subject
from onegate.accounting.directory import Directory
from onegate.accounting.reservations import Reservations
from onegate.context import RequestContext, new_request_id
from onegate.counters import open_counters
from onegate.dialects.render import render_error
from onegate.errors import GatewayError
from onegate.pipeline.admit import Admission
from onegate.pipeline.authenticate import KeyCache
from onegate.pipeline.record import record
from onegate.providers.registry import ModelRegistry
from onegate.server.clients import identify_client
from onegate.server.http import Receive, Responder, Send
from onegate.server.routes import match
from onegate.settings import Settings
from onegate.store.db import open_engine
from onegate.store.migrations import migrate
from onegate.store.writer import LogWriter

log = logging.getLogger("onegate")

CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
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


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = open_engine(settings.database_url)
        self.keys = KeyCache(self.engine)
        self.registry = ModelRegistry.from_settings(settings)
        self.counters = open_counters(settings)
        self.directory = Directory(self.engine, self.keys, self.registry, self.counters)
        accounting = settings.accounting
        self.alerts = SpendAlerts(accounting.alerts, self.counters, self.engine, accounting.currency)
        self.reservations = Reservations(self.counters, accounting.reservation_ttl, self._spent)
        self.admission = Admission(accounting, settings.model_groups, self.directory, self.reservations)
        self.writer = LogWriter(
            self.engine,
            settings.data_dir / "spill" / "request_logs.jsonl",
            max_queue=settings.log_queue_size,
            journal_dir=settings.data_dir / "journal" if settings.durable_writes else None,
            on_commit=self.reservations.committed,
        )
        self._background: list[asyncio.Task[None]] = []

    # lifecycle -----------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Blocking start-up work: schema, log writer (which replays what a crash left)."""
        migrate(self.engine)
        self.writer.start()

    async def startup(self) -> None:
        self.reservations.bind(asyncio.get_running_loop())
        await asyncio.to_thread(self.prepare)
        await self.directory.refresh()  # keys, teams, prices; balances and key spend into the counters
        tasks = [
            self.directory.poll_forever(self.settings.key_refresh_seconds),
            self.reservations.renew_forever(),
        ]
        if self.settings.accounting.alerts.enabled:
            tasks.append(self.alerts.run_forever())
        if self.settings.redis_url:
            from onegate.counters.pubsub import listen

            tasks.append(listen(self.settings.redis_url, self.settings.redis_prefix, self.directory.refresh))
        self._background = [asyncio.create_task(t) for t in tasks]

    async def shutdown(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.registry.sessions is not None:
            await self.registry.sessions.close()
        await asyncio.to_thread(self.writer.close)
        await asyncio.sleep(0)  # let the writer's last commit callbacks run
        await self.counters.close()
        await self.alerts.close()
        self.engine.dispose()

    def _spent(self, ctx: RequestContext, now: float) -> None:
        key = ctx.key
        if key is None:
            return
        self.alerts.saw(Subject("key", key.id, key.team_id, key.name), now)
        team = self.directory.team(key.team_id) if key.team_id is not None else None
        if team is not None:
            self.alerts.saw(Subject("team", team.id, team.id, team.name), now)

    # ASGI ----------------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.handle(scope, receive, send)
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
            await _preflight(send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        path = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        route, path_known = match(method, scope["path"])
        ctx = RequestContext(
            request_id=new_request_id(),
            method=method,
            path=path,
            headers=headers,
            client=identify_client(headers),
            dialect=route.dialect if route else "openai_chat",
        )
        responder = Responder(send, ctx)
        logged = route is None or route.logged
        if logged:
            responder.before_end = partial(record, ctx, self.writer, self.reservations)
        try:
            if route is None:
                raise _unknown_route(method, scope["path"], path_known, self.settings.public_base_url(headers))
            await route.handler(self, ctx, responder, receive)
        except GatewayError as err:
            await self._fail(ctx, responder, err)
        except Exception:  # a bug: answer in the caller's dialect and keep the evidence
            log.exception("unhandled error in %s %s (%s)", method, scope["path"], ctx.request_id)
            await self._fail(ctx, responder, GatewayError(errors.INTERNAL_ERROR, "Internal error in onegate."))
        finally:
            if logged:  # a no-op when the response already recorded it (before_end)
                record(ctx, self.writer, self.reservations)

    async def _fail(self, ctx: RequestContext, responder: Responder, err: GatewayError) -> None:
        ctx.error_code = err.kind.code
        ctx.error_message = err.message
        if responder.started:
            return
        ctx.status = err.status
        if err.kind is errors.CLIENT_DISCONNECTED:
            return
        await responder.send_body(
            err.status, render_error(ctx.dialect, err, ctx.request_id), headers=err.response_headers()
        )


def _unknown_route(method: str, path: str, path_known: bool, base_url: str) -> GatewayError:
    if path_known:
        return GatewayError(errors.METHOD_NOT_ALLOWED, f"{method} is not allowed on {path}.")
    return GatewayError(
        errors.UNKNOWN_PATH,
        f"Invalid URL ({method} {path}). Set your client's base URL to {base_url} "
        "(OpenAI-style clients append /chat/completions, /models … to it).",
    )


async def _preflight(send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": CORS_HEADERS})
    await send({"type": "http.response.body", "body": b""})


def create_app(settings: Settings) -> Gateway:
    return Gateway(settings)


def app_from_environment() -> Gateway:
    """The app of one `onegate serve --workers N` worker: settings from ONEGATE_* variables."""
    from onegate.settings import load_settings

    return Gateway(load_settings())
