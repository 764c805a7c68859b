"""`Observer`: what watches a gateway — metrics and traces when switched on, readiness always.

The gateway calls `finished(ctx)` once per recorded request; with metrics and traces off it is not
called at all (`Observer.watching` is False), so the request path pays one attribute test.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from onegate.context import RequestContext
from onegate.observe.health import ReadinessProbe
from onegate.settings import ConfigError, Settings
from onegate.store.deferred import loaded
from onegate.store.writer import LogWriter

log = logging.getLogger("onegate.observe")

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from onegate.accounting.directory import Directory
    from onegate.accounting.reservations import Reservations
    from onegate.channels.book import ChannelBook
    from onegate.counters.protocol import Counters
    from onegate.observe.metrics import Metrics
    from onegate.observe.tracing import Tracing
    from onegate.providers.registry import ModelRegistry


class Observer:
    def __init__(self, readiness: ReadinessProbe, metrics: Metrics | None, tracing: Tracing | None) -> None:
        self.readiness = readiness
        self.metrics = metrics
        self.tracing = tracing
        self.watching = metrics is not None or tracing is not None

    def finished(self, ctx: RequestContext) -> None:
        now = time.perf_counter()
        try:
            if self.metrics is not None:
                self.metrics.observe(ctx, now)
            if self.tracing is not None:
                self.tracing.export(ctx, now)
        except Exception:  # watching a request must never fail it: it is already recorded
            log.exception("observing %s failed", ctx.request_id)

    async def close(self) -> None:
        if self.tracing is not None:
            self.tracing.close()  # flushes what is still batched
        await self.readiness.close()


def channel_states(book: ChannelBook) -> dict[str, str]:
    now = time.time()
    return {name: book.state(name, now) for name in book.known}


def build_observer(
    settings: Settings,
    *,
    engine: Engine,
    writer: LogWriter,
    book: ChannelBook,
    reservations: Reservations,
    registry: ModelRegistry,
    directory: Directory,
    counters: Counters,
) -> Observer:
    redis = None
    if settings.redis_url:
        from onegate.counters.resp import RespClient

        redis = RespClient(settings.redis_url, timeout=1.0)  # its own connection: a probe never queues behind load

    def states() -> dict[str, str]:
        return channel_states(book)

    readiness = ReadinessProbe(settings.database_url, writer, states, redis)
    metrics = None
    if settings.metrics.enabled:
        from onegate.observe.metrics import LiveSources, Metrics

        def team_name(team_id: int) -> str | None:
            team = directory.team(team_id)
            return team.name if team is not None else None

        live = LiveSources(
            channel_states=states,
            reservations_open=lambda: reservations.open,
            writer_depth=lambda: writer.depth,
            writer_stats=lambda: writer.stats,
            backlog_bytes=writer.backlog_bytes,
            team_name=team_name,
        )
        upstream = {t.upstream_model for name in registry.names for t in registry.get(name).targets}  # type: ignore[union-attr]
        metrics = Metrics(settings.metrics, registry.names, upstream, live)
        metrics.watch_engine(loaded(engine))  # loads SQLAlchemy before the first answer: metrics are opt-in
        if settings.redis_url:
            from onegate.counters.redis import RedisCounters  # the redis extra: only when configured

            if isinstance(counters, RedisCounters):
                metrics.watch_redis(counters.client)
    tracing = None
    if tracing_requested():
        try:
            from onegate.observe.tracing import Tracing
        except ImportError:
            raise ConfigError(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set, but the OpenTelemetry SDK is not installed: "
                "pip install 'onegate[otel]'"
            ) from None
        tracing = Tracing({c.name: c.type for c in settings.channels})
    return Observer(readiness, metrics, tracing)


def tracing_requested() -> bool:
    """The standard variables ask for OTLP traces (and the SDK is not switched off)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
