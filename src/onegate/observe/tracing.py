"""OpenTelemetry traces over OTLP/HTTP (protobuf), on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; the exporter reads the other standard variables itself
(`OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`).

One server span per request, written when the request is recorded (its start and end come from the
request's own clock, so nothing is opened on the request path), with the GenAI attributes; one client
span per upstream attempt under it. A caller's `traceparent` makes the request span its child. The SDK is
imported only here, and this module only when tracing is on: start-up pays nothing when it is off.
"""

from __future__ import annotations

import logging
import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from onegate.context import RequestContext
from onegate.observe.operations import operation_of

log = logging.getLogger("onegate.tracing")
_PROPAGATOR = TraceContextTextMapPropagator()
MAX_STATUS_TEXT = 200


class Tracing:
    def __init__(self, providers: dict[str, str], exporter: OTLPSpanExporter | None = None) -> None:
        if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") != "http/protobuf":
            log.warning("OTEL_EXPORTER_OTLP_PROTOCOL: onegate exports traces over http/protobuf only")
        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "onegate"})
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(BatchSpanProcessor(exporter or OTLPSpanExporter()))
        self._tracer = self.provider.get_tracer("onegate")
        self._providers = providers  # channel → gen_ai.provider.name (openai, anthropic)

    def export(self, ctx: RequestContext, now: float) -> None:
        """The request's span and its attempts' spans, ended and handed to the batch exporter."""

        def wall_ns(t: float) -> int:
            return int((ctx.created_at + (t - ctx.started)) * 1e9)

        operation = operation_of(ctx.dialect, ctx.method)
        model = ctx.model_requested
        name = f"{operation} {model}" if operation and model else f"{ctx.method} {ctx.dialect}"
        parent = _PROPAGATOR.extract(ctx.headers) if "traceparent" in ctx.headers else None
        attributes: dict[str, str | int | bool] = {
            "onegate.request_id": ctx.request_id,
            "onegate.surface": ctx.dialect,
            "http.request.method": ctx.method,
            "http.response.status_code": ctx.status,
        }
        if operation:
            attributes["gen_ai.operation.name"] = operation
            attributes["gen_ai.request.stream"] = ctx.stream
        if model:
            attributes["gen_ai.request.model"] = model
        if ctx.model_routed:
            attributes["gen_ai.response.model"] = ctx.model_routed
        if ctx.channel:
            attributes["onegate.channel"] = ctx.channel
            attributes["gen_ai.provider.name"] = self._providers.get(ctx.channel, "onegate")
        usage = ctx.usage
        for attribute, value in (
            ("gen_ai.usage.input_tokens", usage.input_tokens),
            ("gen_ai.usage.output_tokens", usage.output_tokens),
            ("gen_ai.usage.cache_read.input_tokens", usage.cached_tokens),
            ("gen_ai.usage.cache_creation.input_tokens", usage.cache_write_tokens),
            ("gen_ai.usage.reasoning.output_tokens", usage.reasoning_tokens),
        ):
            if value:
                attributes[attribute] = value
        if ctx.first_byte_at is not None and ctx.stream:
            attributes["gen_ai.response.time_to_first_chunk"] = round(ctx.first_byte_at - ctx.started, 6)  # type: ignore[assignment]
        if ctx.error_code:
            attributes["error.type"] = ctx.error_code
        span = self._tracer.start_span(
            name, context=parent, kind=SpanKind.SERVER, attributes=attributes, start_time=wall_ns(ctx.started)
        )
        if ctx.status >= 500:
            span.set_status(Status(StatusCode.ERROR, (ctx.error_message or "")[:MAX_STATUS_TEXT]))
        inside = trace.set_span_in_context(span)
        for number, attempt in enumerate(ctx.attempts, 1):
            provider = self._providers.get(attempt.channel, "onegate")
            child_attributes: dict[str, str | int] = {
                "onegate.channel": attempt.channel,
                "onegate.attempt": number,
                "gen_ai.provider.name": provider,
            }
            if operation:
                child_attributes["gen_ai.operation.name"] = operation
            if attempt.status is not None:
                child_attributes["http.response.status_code"] = attempt.status
            if attempt.error:
                child_attributes["error.type"] = str(attempt.status or "transport")
            child = self._tracer.start_span(
                f"{operation or 'upstream'} {attempt.channel}",
                context=inside,
                kind=SpanKind.CLIENT,
                attributes=child_attributes,
                start_time=wall_ns(attempt.started_at or ctx.started),
            )
            if attempt.error:
                child.set_status(Status(StatusCode.ERROR, attempt.error[:MAX_STATUS_TEXT]))
            child.end(end_time=wall_ns((attempt.started_at or ctx.started) + attempt.duration_ms / 1000))
        span.end(end_time=wall_ns(now))

    def flush(self, timeout_ms: int = 5000) -> bool:
        return self.provider.force_flush(timeout_ms)

    def close(self) -> None:
        self.provider.shutdown()
