"""OpenTelemetry traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, each request is a server span with the GenAI
attributes and a client span per upstream attempt, exported over OTLP/HTTP to a loopback receiver.
Off (the default), neither the SDK nor prometheus-client is even imported."""

from __future__ import annotations

import subprocess
import sys
import time

import openai
import pytest

from tests.conftest import UPSTREAM_SECRET, channel_config
from tests.observe.otlp_receiver import OTLPReceiver, ReceivedSpan

MESSAGES = [{"role": "user", "content": "hello there"}]
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
SERVER, CLIENT = 2, 3  # SpanKind in the OTLP protobuf
STATUS_ERROR = 2


@pytest.fixture
def receiver(monkeypatch):
    with OTLPReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "onegate-under-test")
        yield receiver


def spans_of(receiver: OTLPReceiver, trace_id: str, count: int) -> list[ReceivedSpan]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [s for s in receiver.spans if s.trace_id == trace_id]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{len(receiver.spans)} spans received, not {count} of trace {trace_id}")


def test_a_request_is_a_span_with_genai_attributes_and_one_child_per_attempt(
    start_gateway, upstream, receiver, monkeypatch
):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    config = channel_config(upstream)
    first = config["channels"][0]
    config["channels"] = [{**first, "name": "a"}, {**first, "name": "b", "priority": 1}]
    gw = start_gateway(config)
    upstream.fail_next(500, {"error": {"message": "boom", "type": "server_error"}})  # a fails, b answers
    traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    raw = gw.client().chat.completions.with_raw_response.create(
        model="gpt-4.1-mini", messages=MESSAGES, extra_headers={"traceparent": traceparent}
    )
    completion = raw.parse()
    assert gw.gateway.observer.tracing is not None and gw.gateway.observer.tracing.flush()

    spans = spans_of(receiver, CALLER_TRACE, 3)
    [server] = [s for s in spans if s.kind == SERVER]
    assert server.name == "chat gpt-4.1-mini" and server.parent_span_id == CALLER_SPAN  # the caller's trace
    assert server.resource["service.name"] == "onegate-under-test"
    attributes = server.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == attributes["gen_ai.response.model"] == "gpt-4.1-mini"
    assert attributes["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert attributes["gen_ai.provider.name"] == "openai" and attributes["onegate.channel"] == "b"
    assert attributes["onegate.request_id"] == raw.headers["x-request-id"]
    assert attributes["http.response.status_code"] == 200
    attempts = sorted((s for s in spans if s.kind == CLIENT), key=lambda s: s.attributes["onegate.attempt"])
    assert [(s.attributes["onegate.channel"], s.attributes.get("http.response.status_code")) for s in attempts] == [
        ("a", 500),
        ("b", 200),
    ]
    assert all(s.parent_span_id == server.span_id for s in attempts)
    assert attempts[0].status_code == STATUS_ERROR and attempts[1].status_code != STATUS_ERROR
    # attempts sit inside the request, one after the other
    assert server.start_ns <= attempts[0].start_ns < attempts[0].end_ns <= attempts[1].start_ns
    assert attempts[1].end_ns <= server.end_ns
    assert set(receiver.content_types) == {"application/x-protobuf"}
    assert gw.key not in str([s.attributes for s in receiver.spans])


def test_an_error_before_any_upstream_is_a_span_with_its_code(start_gateway, receiver):
    gw = start_gateway()
    with pytest.raises(openai.NotFoundError):
        gw.client().chat.completions.create(model="no-such-model", messages=MESSAGES)
    tracing = gw.gateway.observer.tracing
    assert tracing is not None and tracing.flush()
    [span] = [s for s in receiver.spans if s.attributes.get("error.type") == "model_not_found"]
    assert span.kind == SERVER and span.attributes["http.response.status_code"] == 404


def test_nothing_is_imported_when_metrics_and_traces_are_off():
    """Start-up time: the SDKs cost their import only when switched on."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import onegate.app"], capture_output=True, text=True, check=True
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "onegate.app" in modules
    assert not {m for m in modules if m.startswith(("opentelemetry", "prometheus_client", "google.protobuf"))}
