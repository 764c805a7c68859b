"""The fake Anthropic upstream must look like Anthropic to Anthropic's own SDK, or gateway tests prove nothing."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from tests.conftest import raw_request
from tests.fakes.anthropic_upstream import (
    REPLY_TEXT,
    SIGNATURE,
    THINKING_TEXT,
    TOOL_INPUT,
    FakeAnthropicUpstream,
)

MESSAGES = [{"role": "user", "content": "What is the weather like today?"}]  # 31 chars -> 8 tokens
TOOLS = [
    {"name": "get_weather", "input_schema": {"type": "object"}},
    {"name": "get_time", "input_schema": {"type": "object"}},
]


@pytest.fixture
def client(anthropic_upstream: FakeAnthropicUpstream) -> Iterator[anthropic.Anthropic]:
    base = anthropic_upstream.base_url.removesuffix("/v1")
    with anthropic.Anthropic(base_url=base, api_key="sk-ant-test", max_retries=0, timeout=10) as c:
        yield c


def test_message_non_stream_with_cache_usage(anthropic_upstream, client):
    anthropic_upstream.cache_read_tokens, anthropic_upstream.cache_creation_tokens = 40, 3
    message = client.messages.create(model="claude-x", max_tokens=100, messages=MESSAGES)
    assert message.id.startswith("msg_fake") and message.type == "message" and message.model == "claude-x"
    assert message.content[0].text == REPLY_TEXT and message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (8, 7)
    assert (message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens) == (40, 3)
    [request] = anthropic_upstream.requests
    assert request.path == "/v1/messages" and request.headers["anthropic-version"]


def test_stream_helper_accumulates_thinking_and_parallel_tools(anthropic_upstream, client):
    anthropic_upstream.parallel_tools = True
    with client.messages.stream(
        model="claude-x",
        max_tokens=2000,
        messages=MESSAGES,
        tools=TOOLS,
        thinking={"type": "enabled", "budget_tokens": 1024},
    ) as stream:
        final = stream.get_final_message()
    thinking, first, second = final.content
    assert (thinking.thinking, thinking.signature) == (THINKING_TEXT, SIGNATURE)
    assert [first.name, second.name] == ["get_weather", "get_time"]
    assert first.input == TOOL_INPUT == second.input
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 11


def test_stream_wire_has_named_events_and_a_ping(anthropic_upstream):
    response = raw_request(
        "POST",
        anthropic_upstream.base_url + "/messages",
        {"model": "m", "max_tokens": 10, "messages": MESSAGES, "stream": True},
        {"anthropic-version": "2023-06-01", "content-type": "application/json"},
    )
    names = [line[7:] for line in response.body.decode().splitlines() if line.startswith("event: ")]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert "ping" in names and names.count("content_block_delta") == 4


def test_forced_stop_reason_and_error_after(anthropic_upstream, client):
    anthropic_upstream.stop_reason = "max_tokens"
    assert client.messages.create(model="m", max_tokens=5, messages=MESSAGES).stop_reason == "max_tokens"
    anthropic_upstream.error_after = 2
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        list(client.messages.create(model="m", max_tokens=5, messages=MESSAGES, stream=True))


def test_auth_version_and_count_tokens(anthropic_upstream, client):
    anthropic_upstream.required_api_key = "sk-ant-right"
    with pytest.raises(anthropic.AuthenticationError):  # the 2.x SDK sends Bearer, Anthropic wants x-api-key
        client.messages.create(model="m", max_tokens=5, messages=MESSAGES)
    headers = {"x-api-key": "sk-ant-right", "content-type": "application/json"}
    missing_version = raw_request(
        "POST", anthropic_upstream.base_url + "/messages/count_tokens", {"model": "m"}, headers
    )
    assert missing_version.status == 400 and missing_version.json()["error"]["type"] == "invalid_request_error"
    headers["anthropic-version"] = "2023-06-01"
    counted = raw_request(
        "POST", anthropic_upstream.base_url + "/messages/count_tokens", {"model": "m", "messages": MESSAGES}, headers
    )
    assert counted.json() == {"input_tokens": 8}
