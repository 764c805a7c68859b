"""Prometheus metrics: the OpenTelemetry GenAI histograms plus the gateway's own, on a registry per gateway.

Imported only when `metrics.enabled` (prometheus-client is an optional extra). Per request, `observe`
runs once, when the request is recorded: one dict lookup for the label set's children, then a handful
of counter increments and histogram observations. Gauges (breakers, queues, backlogs, reservations) are
read from the live objects at scrape time and cost nothing per request.

Names follow the OpenTelemetry → Prometheus conversion (what the OTel Prometheus exporter does): dots
become underscores, a unit is appended as a suffix (`s` → `_seconds`; a `{token}` annotation adds
nothing), counters end in `_total`. Labels are bounded: surfaces and error codes come from the code,
channels and models from the config (a requested name that no model has is counted as "other"), teams
are capped (`metrics.max_team_labels`); never a key, a path or anything a caller can vary freely.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from onegate.context import RequestContext
from onegate.observe.health import Check
from onegate.observe.operations import OPERATIONS  # surfaces without one (model lists) get no GenAI metrics
from onegate.settings import MetricsConfig
from onegate.store.writer import WriterStats

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


class _Children:
    """The label-bound children for one request label set (created once, reused by every request)."""

    __slots__ = ("requests", "duration", "ttft", "tpot", "input_tokens", "output_tokens", "genai")

    def __init__(self, m: Metrics, labels: tuple[str, ...]) -> None:
        self.requests = m.requests.labels(*labels)
        self.genai = bool(labels[1])
        self.duration = m.request_duration.labels(*labels)
        self.ttft = m.ttft.labels(*labels)
        self.tpot = m.tpot.labels(*labels)
        self.input_tokens = m.token_usage.labels(*labels, "input")
        self.output_tokens = m.token_usage.labels(*labels, "output")


class Metrics:
    def __init__(self, config: MetricsConfig, models: Iterable[str], upstream_models: Iterable[str], live: LiveSources):
        self.registry = registry = CollectorRegistry()
        self._models = frozenset(models)
        self._upstream_models = frozenset(upstream_models)
        self._max_teams = config.max_team_labels
        self._teams: dict[int | None, str] = {None: ""}
        self._children: dict[tuple[str, ...], _Children] = {}
        self._attempt_children: dict[tuple[str, ...], tuple[Any, Any]] = {}  # (attempts counter, duration)
        self._live = live
        labels = REQUEST_LABELS
        self.requests = Counter(
            "onegate_requests", "Requests answered, by surface, model, channel and status class.", labels,
            registry=registry,
        )  # fmt: skip
        self.errors = Counter(
            "onegate_errors", "Requests answered with an error, by surface, HTTP status and onegate error code.",
            ("surface", "status", "error_code"), registry=registry,
        )  # fmt: skip
        self.token_usage = Histogram(
            "gen_ai_client_token_usage", "Tokens used (billable), by token type (gen_ai.client.token.usage).",
            (*labels, "gen_ai_token_type"), buckets=TOKEN_BUCKETS, registry=registry,
        )  # fmt: skip
        self.request_duration = Histogram(
            "gen_ai_server_request_duration_seconds",
            "Time to the last byte of the answer (gen_ai.server.request.duration).",
            labels, buckets=DURATION_BUCKETS, registry=registry,
        )  # fmt: skip
        self.ttft = Histogram(
            "gen_ai_server_time_to_first_token_seconds",
            "Time to the first streamed event of a successful streamed answer (gen_ai.server.time_to_first_token).",
            labels, buckets=TTFT_BUCKETS, registry=registry,
        )  # fmt: skip
        self.tpot = Histogram(
            "gen_ai_server_time_per_output_token_seconds",
            "Time per output token after the first, successful streamed answers (gen_ai.server.time_per_output_token).",
            labels, buckets=TPOT_BUCKETS, registry=registry,
        )  # fmt: skip
        self.attempt_duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "Upstream attempts: onegate as the client of a channel (gen_ai.client.operation.duration).",
            labels, buckets=DURATION_BUCKETS, registry=registry,
        )  # fmt: skip
        self.attempts = Counter(
            "onegate_upstream_attempts", "Upstream attempts by channel and the status class they ended with.",
            ("channel", "status_class"), registry=registry,
        )  # fmt: skip
        self.failovers = Counter(
            "onegate_failovers", "Attempts beyond a request's first (another channel was tried).", ("surface",),
            registry=registry,
        )  # fmt: skip
        self.cooldowns = Counter(
            "onegate_channel_cooldowns", "Upstream 429s: each one cools its channel.", ("channel",), registry=registry
        )
        self.refusals = Counter(
            "onegate_admission_refusals", "Requests refused before any upstream was tried (402, 429, 503).",
            ("status", "reason"), registry=registry,
        )  # fmt: skip
        self.spend = Counter(
            "onegate_spend", "Money charged, in the accounting currency, by team (capped label set).", ("team",),
            registry=registry,
        )  # fmt: skip
        self.db_seconds = Histogram(
            "onegate_db_query_duration_seconds", "Database statements (log writer, caches, admin), one each.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5), registry=registry,
        )  # fmt: skip
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
            OPERATIONS.get(surface, ""),
            self._model(ctx.model_requested),
            self._upstream_model(ctx.model_routed),
            ctx.channel or "",
            status_class(status),
        )
        children = self._children.get(labels)
        if children is None:
            children = self._children[labels] = _Children(self, labels)
        children.requests.inc()
        if status >= 400:
            self.errors.labels(surface, str(status), ctx.error_code or "").inc()
            if not ctx.attempts and status in (402, 429, 503):
                self.refusals.labels(str(status), ctx.error_code or "").inc()
        if children.genai:
            elapsed = now - ctx.started
            children.duration.observe(elapsed)
            usage = ctx.usage
            if usage.input_tokens:
                children.input_tokens.observe(usage.input_tokens)
            if usage.output_tokens:
                children.output_tokens.observe(usage.output_tokens)
            if ctx.stream and 0 < status < 400 and ctx.first_byte_at is not None:
                ttft = ctx.first_byte_at - ctx.started
                children.ttft.observe(ttft)
                if usage.output_tokens > 1:
                    children.tpot.observe((elapsed - ttft) / (usage.output_tokens - 1))
        if ctx.attempts:
            self._attempts(ctx, labels)
        if ctx.cost_micros:
            self.spend.labels(self._team(ctx.key.team_id if ctx.key else None)).inc(ctx.cost_micros / 1_000_000)

    def _attempts(self, ctx: RequestContext, labels: tuple[str, ...]) -> None:
        for attempt in ctx.attempts:
            key = (*labels[:4], attempt.channel, status_class(attempt.status))
            children = self._attempt_children.get(key)
            if children is None:
                duration = self.attempt_duration.labels(*key) if labels[1] else None
                children = self._attempt_children[key] = (self.attempts.labels(*key[4:]), duration)
            children[0].inc()
            if children[1] is not None:
                children[1].observe(attempt.duration_ms / 1000)
            if attempt.status == 429:
                self.cooldowns.labels(attempt.channel).inc()
        if len(ctx.attempts) > 1:
            self.failovers.labels(labels[0]).inc(len(ctx.attempts) - 1)

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
        one_off.register(_Fixed([ok, took]))
        return generate_latest(self.registry) + generate_latest(one_off)


class _Fixed(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


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
