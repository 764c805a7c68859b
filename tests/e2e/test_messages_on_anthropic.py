"""Messages clients on an Anthropic channel, with the real anthropic SDK: a pass-through that touches only
`model`, forwards `anthropic-version`/`anthropic-beta` on purpose, and bills cache tokens."""

from __future__ import annotations

import anthropic
import pytest

from tests.conftest import ANTHROPIC_SECRET, raw_request
from tests.fakes.anthropic_upstream import REPLY_TEXT, SIGNATURE, THINKING_TEXT, TOOL_INPUT

MESSAGES = [{"role": "user", "content": "hello there"}]
TOOLS = [
    {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
    {"name": "get_time", "input_schema": {"type": "object"}},
]
BETA = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27"


def test_pass_through_touches_only_model_and_forwards_version_and_beta(claude_gateway, anthropic_upstream):
    client = claude_gateway.anthropic_client(x_api_key=True)
    body = {
        "max_tokens": 64,
        "system": [{"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}
        ],
        "metadata": {"user_id": '{"device_id":"abc","session_id":"s1"}'},
    }
    extra = {"context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}}
    headers = {"anthropic-version": "2023-06-01", "anthropic-beta": BETA}
    raw = client.messages.with_raw_response.create(model="sonnet", **body, extra_body=extra, extra_headers=headers)
    assert raw.parse().content[0].text == REPLY_TEXT
    sent = anthropic_upstream.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.json == {**body, **extra, "model": "claude-sonnet-4-6"}  # the alias resolved, nothing else changed
    assert sent.headers["x-api-key"] == ANTHROPIC_SECRET  # the channel's secret, never the client's key
    assert "authorization" not in sent.headers and claude_gateway.key not in str(sent.headers)
    assert (sent.headers["anthropic-version"], sent.headers["anthropic-beta"]) == ("2023-06-01", BETA)
    row = claude_gateway.log(raw.headers["x-request-id"])
    assert (row["status"], row["channel"], row["dialect"]) == (200, "claude", "anthropic_messages")


def test_sdk_without_beta_gets_the_default_version_only_when_it_sends_none(claude_gateway, anthropic_upstream):
    claude_gateway.anthropic_client().messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)
    sent = anthropic_upstream.requests[-1]
    assert sent.headers["anthropic-version"]  # the SDK's own version, forwarded
    assert "anthropic-beta" not in sent.headers
    bare = raw_request(
        "POST",
        claude_gateway.base_url + "/messages",
        {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": MESSAGES},
        {"x-api-key": claude_gateway.key, "content-type": "application/json"},
    )
    assert bare.status == 200
    assert anthropic_upstream.requests[-1].headers["anthropic-version"] == "2023-06-01"


def test_stream_helper_keeps_thinking_signatures_and_bills_cache_tokens(claude_gateway, anthropic_upstream):
    anthropic_upstream.cache_read_tokens, anthropic_upstream.cache_creation_tokens = 1000, 50
    client = claude_gateway.anthropic_client()
    with client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=2048,
        messages=MESSAGES,
        thinking={"type": "enabled", "budget_tokens": 1024},
    ) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_message()
        request_id = stream.response.headers["x-request-id"]
    thinking, text = final.content
    assert (thinking.thinking, thinking.signature, text.text) == (THINKING_TEXT, SIGNATURE, REPLY_TEXT)
    assert events[0] == "message_start" and events[-1] == "message_stop"
    usage = final.usage
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (1000, 50)
    row = claude_gateway.log(request_id)
    assert row["stream"] and not row["usage_estimated"]
    # our input_tokens is the whole prompt; Anthropic's excludes what was read from or written to the cache
    assert row["input_tokens"] == usage.input_tokens + 1000 + 50
    assert (row["cached_tokens"], row["cache_write_tokens"], row["output_tokens"]) == (1000, 50, usage.output_tokens)
    uncached = usage.input_tokens + 50  # cache writes are charged at the input price
    expected = (uncached * 3_000_000 + 1000 * 300_000 + usage.output_tokens * 15_000_000 + 500_000) // 1_000_000
    assert row["cost_micros"] == expected


def test_stream_events_are_relayed_byte_for_byte(claude_gateway, anthropic_upstream):
    response = raw_request(
        "POST",
        claude_gateway.base_url + "/messages?beta=true",
        {"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": MESSAGES, "stream": True},
        {"x-api-key": claude_gateway.key, "anthropic-version": "2023-06-01", "content-type": "application/json"},
    )
    assert response.status == 200 and response.headers["content-type"].startswith("text/event-stream")
    text = response.body.decode()
    assert text.startswith("event: message_start\ndata: {")
    assert 'event: ping\ndata: {"type": "ping"}\n\n' in text  # the upstream's own ping, untouched
    assert text.endswith('event: message_stop\ndata: {"type":"message_stop"}\n\n')


def test_parallel_tool_use_passes_through(claude_gateway, anthropic_upstream):
    anthropic_upstream.parallel_tools = True
    client = claude_gateway.anthropic_client(x_api_key=True)
    with client.messages.stream(model="claude-sonnet-4-6", max_tokens=100, messages=MESSAGES, tools=TOOLS) as stream:
        final = stream.get_final_message()
    assert [(b.type, b.name, b.input) for b in final.content] == [
        ("tool_use", "get_weather", TOOL_INPUT),
        ("tool_use", "get_time", TOOL_INPUT),
    ]
    assert final.stop_reason == "tool_use"


def test_count_tokens_is_answered_by_the_anthropic_channel(claude_gateway, anthropic_upstream):
    client = claude_gateway.anthropic_client(x_api_key=True)
    raw = client.messages.with_raw_response.count_tokens(model="sonnet", messages=MESSAGES)
    assert raw.parse().input_tokens == 3  # the fake's count: 11 chars // 4 + 1
    assert "x-onegate-token-count" not in raw.headers
    sent = anthropic_upstream.requests[-1]
    assert (sent.path, sent.json["model"]) == ("/v1/messages/count_tokens", "claude-sonnet-4-6")
    row = claude_gateway.log(raw.headers["x-request-id"])
    assert (row["status"], row["dialect"], row["input_tokens"], row["cost_micros"]) == (
        200,
        "anthropic_count_tokens",
        0,
        0,
    )


def test_upstream_error_before_first_byte_is_anthropic_shaped(claude_gateway, anthropic_upstream):
    anthropic_upstream.fail_next(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    with pytest.raises(anthropic.APIStatusError) as info:
        claude_gateway.anthropic_client().messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=MESSAGES)
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"
    assert "Overloaded" in info.value.body["error"]["message"]


def test_error_event_mid_stream_reaches_the_sdk_and_the_log(claude_gateway, anthropic_upstream):
    anthropic_upstream.error_after = 3
    client = claude_gateway.anthropic_client()
    stream = client.messages.stream(model="claude-sonnet-4-6", max_tokens=10, messages=MESSAGES)
    with pytest.raises(anthropic.APIStatusError, match="Overloaded") as info, stream as events:
        list(events)
    request_id = info.value.response.headers["x-request-id"]
    row = claude_gateway.log(request_id)
    assert (row["status"], row["error_code"]) == (200, "upstream_bad_response")
    assert "Overloaded" in row["error_message"]


def test_stream_cut_midway_ends_with_an_error_event(claude_gateway, anthropic_upstream):
    anthropic_upstream.cut_stream_after = 4
    response = raw_request(
        "POST",
        claude_gateway.base_url + "/messages",
        {"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": MESSAGES, "stream": True},
        {"x-api-key": claude_gateway.key, "content-type": "application/json"},
    )
    events = [line for line in response.body.decode().splitlines() if line.startswith("event: ")]
    assert events[-1] == "event: error" and "event: message_stop" not in events
    row = claude_gateway.log(response.headers["x-request-id"])
    assert row["error_code"] == "upstream_bad_response" and row["input_tokens"] > 0
