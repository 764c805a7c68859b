"""Prometheus metrics: the OpenTelemetry GenAI histograms plus the gateway's own, on a registry per gateway.

Imported only when `metrics.enabled` (prometheus-client is an optional extra). Per request, `observe`
runs once, when the request is recorded: a few dict and list updates (`Counters`, `Histograms`: plain
containers, exposed through prometheus-client's metric families at scrape time). Gauges (breakers,
queues, backlogs, reservations) are read from the live objects at scrape time: nothing per request.

Names follow the OpenTelemetry → Prometheus conversion (what the OTel Prometheus exporter does): dots
become underscores, a unit is appended as a suffix (`s` → `_seconds`; a `{token}` annotation adds
nothing), counters end in `_total`. Labels are bounded: surfaces and error codes come from the code,
channels and models from the config (a requested name that no model has is counted as "other"), teams
are capped (`metrics.max_team_labels`); never a key, a path or anything a caller can vary freely.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from onegate.context import RequestContext
from onegate.observe.health import Check
from onegate.observe.operations import operation_of  # requests without one (model lists) get no GenAI metrics
from onegate.settings import MetricsConfig
from onegate.store.writer import WriterStats

if TYPE_CHECKING:
    from onegate.counters.cluster import ClusterClient  # hiredis: only with the redis extra

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

# Bucket boundaries from the OpenTelemetry GenAI semantic conventions (explicit bucket advice per metric).
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)

OTHER = "other"  # the one value every unbounded or unknown name is folded into
_BREAKER = {"open": 2, "disabled": 2, "half_open": 1}  # else closed: 0
# the labels every request-level series carries
REQUEST_LABELS = (
    "surface",
    "gen_ai_operation_name",
    "gen_ai_request_model",
    "gen_ai_response_model",
    "channel",
    "status_class",
)


@dataclass(frozen=True, slots=True)
class LiveSources:
    """What the scrape reads from the running gateway (callables, so nothing is copied per request)."""

    channel_states: Callable[[], dict[str, str]]  # channel → healthy | cooling | half_open | open | disabled
    reservations_open: Callable[[], int]
    writer_depth: Callable[[], int]
    writer_stats: Callable[[], WriterStats]
    backlog_bytes: Callable[[], tuple[int, int]]  # spill file, journal
    team_name: Callable[[int], str | None]


def status_class(status: int | None) -> str:
    return f"{status // 100}xx" if status else "none"


class Counters:
    """A labelled counter kept in a plain dict: updated on the event loop only (no lock), exposed at scrape."""

    def __init__(self, name: str, doc: str, labels: tuple[str, ...]) -> None:
        self.name, self.doc, self.labels = name, doc, labels
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, labels: tuple[str, ...], amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def family(self) -> Metric:
        family = CounterMetricFamily(self.name, self.doc, labels=self.labels)
        for labels, value in list(self.values.items()):
            family.add_metric(labels, value)
        return family


class Histograms:
    """A labelled histogram kept as plain lists: one per label set, [bucket counts…, +Inf count, sum].

    What prometheus-client's Histogram does, without its locks and per-bucket objects: the request path
    pays a bisect and two list updates per observation (all on the event loop; the scrape runs there too).
    """

    def __init__(self, name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> None:
        self.name, self.doc, self.labels = name, doc, labels
        self.bounds = buckets
        self._le = [floatToGoString(b) for b in buckets] + ["+Inf"]
        self.series: dict[tuple[str, ...], list[float]] = {}

    def of(self, labels: tuple[str, ...]) -> list[float]:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = [0.0] * (len(self.bounds) + 2)
        return series

    def observe(self, series: list[float], value: float) -> None:
        series[bisect_left(self.bounds, value)] += 1  # bucket bounds are inclusive (le)
        series[-1] += value

    def family(self) -> Metric:
        family = HistogramMetricFamily(self.name, self.doc, labels=self.labels)
        for labels, series in list(self.series.items()):
            counts = list(accumulate(series[:-1]))
            family.add_metric(labels, list(zip(self._le, counts, strict=True)), sum_value=series[-1])
        return family


class _Series:
    """One request label set's series in every request-level family (looked up once per request)."""

    __slots__ = ("genai", "duration", "ttft", "tpot", "input_tokens", "output_tokens")

    def __init__(self, m: Metrics, labels: tuple[str, ...]) -> None:
        self.genai = bool(labels[1])
        self.duration = m.request_duration.of(labels)
        self.ttft = m.ttft.of(labels)
        self.tpot = m.tpot.of(labels)
        self.input_tokens = m.token_usage.of((*labels, "input"))
        self.output_tokens = m.token_usage.of((*labels, "output"))


class Metrics:
    def __init__(self, config: MetricsConfig, models: Iterable[str], upstream_models: Iterable[str], live: LiveSources):
        self.registry = registry = CollectorRegistry()
        self._models = frozenset(models)
        self._upstream_models = frozenset(upstream_models)
        self._max_teams = config.max_team_labels
        self._teams: dict[int | None, str] = {None: ""}
        self._series: dict[tuple[str, ...], _Series] = {}
        self._live = live
        labels = REQUEST_LABELS
        self.requests = Counters(
            "onegate_requests", "Requests answered, by surface, model, channel and status class.", labels
        )
        self.errors = Counters(
            "onegate_errors", "Requests answered with an error, by surface, HTTP status and onegate error code.",
            ("surface", "status", "error_code"),
        )  # fmt: skip
        self.token_usage = Histograms(
            "gen_ai_client_token_usage", "Tokens used (billable), by token type (gen_ai.client.token.usage).",
            (*labels, "gen_ai_token_type"), TOKEN_BUCKETS,
        )  # fmt: skip
        self.request_duration = Histograms(
            "gen_ai_server_request_duration_seconds",
            "Time to the last byte of the answer (gen_ai.server.request.duration).", labels, DURATION_BUCKETS,
        )  # fmt: skip
        self.ttft = Histograms(
            "gen_ai_server_time_to_first_token_seconds",
            "Time to the first streamed event of a successful streamed answer (gen_ai.server.time_to_first_token).",
            labels, TTFT_BUCKETS,
        )  # fmt: skip
        self.tpot = Histograms(
            "gen_ai_server_time_per_output_token_seconds",
            "Time per output token after the first, successful streamed answers (gen_ai.server.time_per_output_token).",
            labels, TPOT_BUCKETS,
        )  # fmt: skip
        self.attempt_duration = Histograms(
            "gen_ai_client_operation_duration_seconds",
            "Upstream attempts: onegate as the client of a channel (gen_ai.client.operation.duration).",
            labels, DURATION_BUCKETS,
        )  # fmt: skip
        self.attempts = Counters(
            "onegate_upstream_attempts", "Upstream attempts by channel and the status class they ended with.",
            ("channel", "status_class"),
        )  # fmt: skip
        self.failovers = Counters(
            "onegate_failovers", "Attempts beyond a request's first (another channel was tried).", ("surface",)
        )
        self.cooldowns = Counters(
            "onegate_channel_cooldowns", "Upstream 429s: each one cools its channel.", ("channel",)
        )
        self.refusals = Counters(
            "onegate_admission_refusals", "Requests refused before any upstream was tried (402, 429, 503).",
            ("status", "reason"),
        )  # fmt: skip
        self.spend = Counters(
            "onegate_spend", "Money charged, in the accounting currency, by team (capped label set).", ("team",)
        )
        self.redis_seconds = Histograms(
            "onegate_redis_command_duration_seconds",
            "Redis commands the request path awaits (admission, balances, limits), from send to answer.",
            (), (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
        )  # fmt: skip
        # statements run in the writer's thread too: prometheus-client's own (locked) histogram
        self.db_seconds = Histogram(
            "onegate_db_query_duration_seconds", "Database statements (log writer, caches, admin), one each.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5), registry=registry,
        )  # fmt: skip
        families = (
            self.requests, self.errors, self.token_usage, self.request_duration, self.ttft, self.tpot,
            self.attempt_duration, self.attempts, self.failovers, self.cooldowns, self.refusals, self.spend,
            self.redis_seconds,
        )  # fmt: skip
        registry.register(_Fixed(lambda: [f.family() for f in families]))
        registry.register(_LiveCollector(live))
        ProcessCollector(registry=registry)
        GCCollector(registry=registry)
        PlatformCollector(registry=registry)

    # per request ------------------------------------------------------------------------------------
    def observe(self, ctx: RequestContext, now: float | None = None) -> None:
        """Count one finished request (called once, when it is recorded)."""
        now = time.perf_counter() if now is None else now
        surface = ctx.dialect
        status = ctx.status
        labels = (
            surface,
            operation_of(surface, ctx.method),
            self._model(ctx.model_requested),
            self._upstream_model(ctx.model_routed),
            ctx.channel or "",
            status_class(status),
        )
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = _Series(self, labels)
        self.requests.inc(labels)
        if status >= 400:
            self.errors.inc((surface, str(status), ctx.error_code or ""))
            if not ctx.attempts and status in (402, 429, 503):
                self.refusals.inc((str(status), ctx.error_code or ""))
        if series.genai:
            elapsed = now - ctx.started
            self.request_duration.observe(series.duration, elapsed)
            usage = ctx.usage
            if usage.input_tokens:
                self.token_usage.observe(series.input_tokens, usage.input_tokens)
            if usage.output_tokens:
                self.token_usage.observe(series.output_tokens, usage.output_tokens)
            if ctx.stream and 0 < status < 400 and ctx.first_byte_at is not None:
                ttft = ctx.first_byte_at - ctx.started
                self.ttft.observe(series.ttft, ttft)
                if usage.output_tokens > 1:
                    self.tpot.observe(series.tpot, (elapsed - ttft) / (usage.output_tokens - 1))
        if ctx.attempts:
            self._attempts(ctx, labels)
        if ctx.cost_micros:
            self.spend.inc((self._team(ctx.key.team_id if ctx.key else None),), ctx.cost_micros / 1_000_000)

    def _attempts(self, ctx: RequestContext, labels: tuple[str, ...]) -> None:
        for attempt in ctx.attempts:
            outcome = status_class(attempt.status)
            self.attempts.inc((attempt.channel, outcome))
            if labels[1]:
                series = self.attempt_duration.of((*labels[:4], attempt.channel, outcome))
                self.attempt_duration.observe(series, attempt.duration_ms / 1000)
            if attempt.status == 429:
                self.cooldowns.inc((attempt.channel,))
        if len(ctx.attempts) > 1:
            self.failovers.inc((labels[0],), len(ctx.attempts) - 1)

    def _model(self, name: str | None) -> str:
        if not name:
            return ""
        return name if name in self._models else OTHER

    def _upstream_model(self, name: str | None) -> str:
        if not name:
            return ""
        return name if name in self._upstream_models else OTHER

    def _team(self, team_id: int | None) -> str:
        label = self._teams.get(team_id)
        if label is None:
            assert team_id is not None
            name = self._live.team_name(team_id) or str(team_id)
            label = name if len(self._teams) - 1 < self._max_teams else OTHER
            self._teams[team_id] = label
        return label

    def watch_redis(self, client: ClusterClient) -> None:
        """Time every command of the counters' Redis connection (on the event loop, like these series)."""
        series = self.redis_seconds.of(())

        def answered(seconds: float) -> None:
            self.redis_seconds.observe(series, seconds)

        client.on_answer = answered

    # database statements ----------------------------------------------------------------------------
    def watch_engine(self, engine: object) -> None:
        """Time every statement the engine runs (SQLAlchemy cursor events; the request path runs none)."""
        from sqlalchemy import event

        histogram = self.db_seconds

        def before(
            conn: object, cursor: object, statement: object, params: object, context: object, many: object
        ) -> None:
            conn.info.setdefault("onegate_t0", []).append(time.perf_counter())  # type: ignore[attr-defined]

        def after(
            conn: object, cursor: object, statement: object, params: object, context: object, many: object
        ) -> None:
            histogram.observe(time.perf_counter() - conn.info["onegate_t0"].pop())  # type: ignore[attr-defined]

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)

    # scrape -----------------------------------------------------------------------------------------
    def exposition(self, checks: dict[str, Check]) -> bytes:
        """The Prometheus text format of everything, with the last readiness checks (cached, see health.py)."""
        ok = GaugeMetricFamily(
            "onegate_ready_check", "1 when a readiness check passes (see /readyz).", labels=["check"]
        )
        took = GaugeMetricFamily(
            "onegate_ready_check_duration_seconds",
            "How long the last readiness check took: the database and Redis round trips.",
            labels=["check"],
        )
        for name, check in checks.items():
            ok.add_metric([name], 1 if check.ok else 0)
            took.add_metric([name], check.seconds)
        one_off = CollectorRegistry(auto_describe=False)
        one_off.register(_Fixed(lambda: [ok, took]))
        return generate_latest(self.registry) + generate_latest(one_off)


class _Fixed(Collector):
    """Families made by a function at each scrape."""

    def __init__(self, families: Callable[[], list[Metric]]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families())


class _LiveCollector(Collector):
    """Gauges and counters read from the live objects when Prometheus scrapes."""

    def __init__(self, live: LiveSources) -> None:
        self._live = live

    def collect(self) -> Iterator[Metric]:
        live = self._live
        breaker = GaugeMetricFamily(
            "onegate_channel_breaker_state", "Breaker per channel: 0 closed, 1 half-open, 2 open (or disabled).",
            labels=["channel"],
        )  # fmt: skip
        state = GaugeMetricFamily(
            "onegate_channel_state",
            "1 for each channel's current state (healthy, cooling, half_open, open, disabled).",
            labels=["channel", "state"],
        )  # fmt: skip
        for channel, now in sorted(live.channel_states().items()):
            breaker.add_metric([channel], _BREAKER.get(now, 0))
            state.add_metric([channel, now], 1)
        yield breaker
        yield state
        yield GaugeMetricFamily(
            "onegate_reservations_outstanding", "Admission reservations not yet settled or committed.",
            value=live.reservations_open(),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "onegate_log_queue_depth", "Request records waiting for the log writer.", value=live.writer_depth()
        )
        spill, journal = live.backlog_bytes()
        backlog = GaugeMetricFamily(
            "onegate_log_backlog_bytes", "Request records on disk not yet in the database.", labels=["store"]
        )
        backlog.add_metric(["spill"], spill)
        backlog.add_metric(["journal"], journal)
        yield backlog
        stats = live.writer_stats()
        rows = CounterMetricFamily(
            "onegate_log_writer_records", "Request records the writer stored, spilled to disk or replayed.",
            labels=["outcome"],
        )  # fmt: skip
        rows.add_metric(["written"], stats.written)
        rows.add_metric(["spilled"], stats.spilled)
        rows.add_metric(["replayed"], stats.replayed)
        yield rows
        yield CounterMetricFamily(
            "onegate_log_writer_failures", "Batches the database refused (their records were spilled).",
            value=stats.failures,
        )  # fmt: skip
        yield SummaryMetricFamily(
            "onegate_log_writer_batch_duration_seconds", "Log-writer transactions and their duration.",
            count_value=stats.batches, sum_value=stats.batch_seconds,
        )  # fmt: skip
