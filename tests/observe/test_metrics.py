"""`GET /metrics` after real requests on every surface: the OpenTelemetry GenAI histograms and the gateway's
own series move as they should, labels stay bounded, and the endpoint is off or guarded as documented."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from onegate.apikeys import KeyRecord
from onegate.context import RequestContext
from onegate.diagnosis.clients import identify_client
from onegate.observe.metrics import LiveSources, Metrics
from onegate.settings import MetricsConfig
from onegate.store.writer import WriterStats
from tests.conftest import UPSTREAM_SECRET, channel_config, raw_request, require_service
from tests.observe.scrape import moved, scrape, value

MESSAGES = [{"role": "user", "content": "hello there"}]
ADMIN_TOKEN = "observability-admin-token-0123456789"


def metrics_config(upstream: Any, **metrics: Any) -> dict[str, Any]:
    config = channel_config(upstream)
    config["metrics"] = {"enabled": True, **metrics}
    return config


@pytest.fixture
def gw(start_gateway, upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    return start_gateway(metrics_config(upstream))


def test_metrics_are_off_unless_enabled(start_gateway):
    gw = start_gateway()
    response = raw_request("GET", gw.root + "/metrics")
    assert response.status == 404 and b"metrics.enabled" in response.body


def test_every_surface_counts_with_the_genai_histograms(gw):
    before = scrape(gw)
    client = gw.client()
    client.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    list(client.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES, stream=True))
    client.embeddings.create(model="text-embedding-3-small", input="hello")
    list(client.responses.create(model="gpt-4.1-mini", input="hello", stream=True))
    claude = gw.anthropic_client()
    last = claude.messages.with_raw_response.create(model="gpt-4.1-mini", max_tokens=50, messages=MESSAGES)
    claude.messages.count_tokens(model="gpt-4.1-mini", messages=MESSAGES)
    gw.log(last.headers["x-request-id"])  # the writer has stored a batch (it writes in order) before the scrape
    after = scrape(gw)

    for surface, count, operation in (
        ("openai_chat", 2, "chat"),
        ("openai_embeddings", 1, "embeddings"),
        ("openai_responses", 1, "chat"),
        ("anthropic_messages", 1, "chat"),
        ("anthropic_count_tokens", 1, "count_tokens"),
    ):
        labels = {"surface": surface, "status_class": "2xx", "gen_ai_operation_name": operation}
        assert moved(before, after, "onegate_requests_total", **labels) == count, surface
        assert moved(before, after, "gen_ai_server_request_duration_seconds_count", **labels) == count, surface
    chat = {"surface": "openai_chat", "gen_ai_request_model": "gpt-4.1-mini", "channel": "fake"}
    assert value(after, "onegate_requests_total", **chat, gen_ai_response_model="gpt-4.1-mini") == 2
    # tokens by type, billable counts summed
    assert moved(before, after, "gen_ai_client_token_usage_count", **chat, gen_ai_token_type="input") == 2
    assert moved(before, after, "gen_ai_client_token_usage_count", **chat, gen_ai_token_type="output") == 2
    assert moved(before, after, "gen_ai_client_token_usage_sum", **chat, gen_ai_token_type="output") > 0
    embeddings_output = value(
        after, "gen_ai_client_token_usage_count", surface="openai_embeddings", gen_ai_token_type="output"
    )
    assert embeddings_output == 0  # embeddings generate no output tokens
    # time to first token and per output token: streamed successful answers only (chat stream, responses stream)
    assert moved(before, after, "gen_ai_server_time_to_first_token_seconds_count", surface="openai_chat") == 1
    assert moved(before, after, "gen_ai_server_time_to_first_token_seconds_count", surface="openai_responses") == 1
    assert moved(before, after, "gen_ai_server_time_to_first_token_seconds_count", surface="anthropic_messages") == 0
    assert moved(before, after, "gen_ai_server_time_per_output_token_seconds_count") == 2
    # every upstream attempt as a client operation (count_tokens is answered locally: no attempt)
    assert moved(before, after, "gen_ai_client_operation_duration_seconds_count", channel="fake") == 5
    assert moved(before, after, "onegate_upstream_attempts_total", channel="fake", status_class="2xx") == 5
    # the spec's bucket boundaries
    ttft_buckets = {
        labels["le"] for name, labels, _ in after if name == "gen_ai_server_time_to_first_token_seconds_bucket"
    }
    assert {"0.001", "0.06", "7.5", "10.0", "+Inf"} <= ttft_buckets
    token_buckets = {labels["le"] for name, labels, _ in after if name == "gen_ai_client_token_usage_bucket"}
    assert {"1.0", "4.0", "6.7108864e+07"} <= token_buckets
    # the writer stored the rows, and the process collectors are there
    assert value(after, "process_resident_memory_bytes") > 0
    assert value(after, "onegate_log_writer_batch_duration_seconds_count") >= 1
    assert value(after, "onegate_db_query_duration_seconds_count") > 0


def test_errors_by_code_and_unknown_models_folded_into_one_label(gw):
    before = scrape(gw)
    client = gw.client()
    for n in range(3):
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model=f"no-such-model-{n}", messages=MESSAGES)
    with pytest.raises(openai.AuthenticationError):
        gw.client(api_key="sk-og-not-a-real-key").chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    after = scrape(gw)
    assert moved(before, after, "onegate_errors_total", status="404", error_code="model_not_found") == 3
    assert moved(before, after, "onegate_errors_total", status="401", error_code="invalid_api_key") == 1
    assert moved(before, after, "onegate_requests_total", gen_ai_request_model="other", status_class="4xx") == 3
    text = raw_request("GET", gw.root + "/metrics").body.decode()
    assert "no-such-model" not in text and gw.key not in text and "sk-og-not-a-real-key" not in text


def test_failover_cooldown_and_breaker_state(start_gateway, upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    config = metrics_config(upstream)
    first = config["channels"][0]
    config["channels"] = [{**first, "name": "a"}, {**first, "name": "b", "priority": 1}]
    gw = start_gateway(config)
    before = scrape(gw)
    upstream.fail_next(429, {"error": {"message": "slow down", "type": "rate_limit_error"}}, {"retry-after": "30"})
    gw.client().chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)  # a cools, b answers
    after = scrape(gw)
    assert moved(before, after, "onegate_upstream_attempts_total", channel="a", status_class="4xx") == 1
    assert moved(before, after, "onegate_upstream_attempts_total", channel="b", status_class="2xx") == 1
    assert moved(before, after, "onegate_failovers_total", surface="openai_chat") == 1
    assert moved(before, after, "onegate_channel_cooldowns_total", channel="a") == 1
    assert value(after, "onegate_channel_state", channel="a", state="cooling") == 1
    assert value(after, "onegate_channel_breaker_state", channel="a") == 0  # cooling is not an open breaker
    assert value(after, "onegate_requests_total", channel="b", status_class="2xx") == 1


def test_admission_refusals_by_reason(start_gateway, upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    config = metrics_config(upstream)
    config["accounting"] = {"key_limits": {"rpm": 1}}
    gw = start_gateway(config)
    client = gw.client()
    client.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    after = scrape(gw)
    assert value(after, "onegate_admission_refusals_total", status="429", reason="rate_limit_exceeded") == 1
    assert value(after, "onegate_reservations_outstanding") >= 0
    assert value(after, "onegate_log_queue_depth") >= 0


def test_metrics_from_another_address_need_the_admin_token(start_gateway, upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_ADMIN_TOKEN", ADMIN_TOKEN)
    gw = start_gateway(metrics_config(upstream, allow_networks=["10.9.9.0/24"]))  # not this test's address
    assert raw_request("GET", gw.root + "/metrics").status == 401
    assert raw_request("GET", gw.root + "/metrics", headers={"Authorization": f"Bearer {gw.key}"}).status == 401
    samples = scrape(gw, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert value(samples, "onegate_ready_check", check="database") == 1


def test_label_sets_stay_bounded_whatever_callers_send():
    """1,000 requests naming 1,000 different models from 1,000 teams: a handful of series, not thousands."""
    teams = {n: f"team-{n}" for n in range(1000)}
    live = LiveSources(
        channel_states=dict,
        reservations_open=lambda: 0,
        writer_depth=lambda: 0,
        writer_stats=WriterStats,
        backlog_bytes=lambda: (0, 0),
        team_name=teams.get,
    )
    metrics = Metrics(MetricsConfig(enabled=True, max_team_labels=3), ["gpt-4.1-mini"], ["gpt-4.1-mini"], live)
    for n in range(1000):
        ctx = RequestContext("req", "POST", "/api/v1/chat/completions", {}, identify_client({}), "openai_chat")
        ctx.model_requested, ctx.status, ctx.cost_micros = f"model-{n}", 404, 1_000
        ctx.key = KeyRecord(n, "k", "hash", "sk-…", "active", None, None, 0.0, team_id=n)
        metrics.observe(ctx)
    text = metrics.exposition({}).decode()
    assert text.count("onegate_requests_total{") == 1 and 'gen_ai_request_model="other"' in text
    spend_series = [line for line in text.splitlines() if line.startswith("onegate_spend_total{")]
    assert len(spend_series) == 4  # three teams by name, the rest under "other"
    assert 'team="other"' in text and "model-999" not in text


def test_the_grafana_dashboard_reads_only_metrics_that_exist(gw):
    gw.client().chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    text = raw_request("GET", gw.root + "/metrics").body.decode()
    types = dict(line.split()[2:4] for line in text.splitlines() if line.startswith("# TYPE "))
    dashboard = json.loads((Path(__file__).parents[2] / "docs" / "grafana" / "onegate.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\b([a-z_]+)\{", expr)}
    assert len(used) > 20
    for name in used:
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or types.get(base) in ("histogram", "summary"), name


def test_redis_commands_on_the_request_path_are_timed(start_gateway):
    require_service("Redis", "127.0.0.1", 6379)
    gw = start_gateway(
        {
            "redis_url": "redis://127.0.0.1:6379/0",
            "routing": {"redis_prefix": f"og-metrics-{time.time_ns()}:"},
            "accounting": {"key_limits": {"rpm": 1000}},  # admission asks the counters
            "metrics": {"enabled": True},
        }
    )
    before = scrape(gw)
    gw.client().chat.completions.create(model="onegate-selftest", messages=MESSAGES)
    after = scrape(gw)
    assert moved(before, after, "onegate_redis_command_duration_seconds_count") >= 1
    assert value(after, "onegate_ready_check", check="redis") == 1
