"""Observability: Server-Timing and log-row timings, Prometheus metrics, OpenTelemetry traces, readiness.

Everything here reads a finished `RequestContext` or the gateway's live objects; nothing here is on the
request path except `timing` (a few subtractions). prometheus-client and OpenTelemetry are imported only
when they are switched on (`metrics.enabled`, `OTEL_EXPORTER_OTLP_ENDPOINT`).
"""
