"""Chat Completions clients (Cursor, Cherry Studio, the SDKs) on Claude models, with the real openai SDK
against the fake Anthropic API: translated both ways, streaming and tools included, cache tokens kept."""

from __future__ import annotations

import json

import openai
import pytest

from tests.conftest import ANTHROPIC_SECRET
from tests.fakes.anthropic_upstream import REPLY_TEXT, THINKING_TEXT, TOOL_INPUT, input_tokens_for

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
]


def test_non_stream_text_with_cache_tokens(claude_gateway, anthropic_upstream):
    anthropic_upstream.cache_read_tokens, anthropic_upstream.cache_creation_tokens = 100, 10
    raw = claude_gateway.client().chat.completions.with_raw_response.create(model="sonnet", messages=MESSAGES)
    reply = raw.parse()
    assert reply.choices[0].message.content == REPLY_TEXT and reply.choices[0].finish_reason == "stop"
    sent = anthropic_upstream.requests[-1]
    assert sent.path == "/v1/messages" and sent.headers["x-api-key"] == ANTHROPIC_SECRET
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.json["system"] == [{"type": "text", "text": "Be brief."}]
    assert sent.json["max_tokens"] == 4096  # Messages requires it; Chat clients may leave it out
    usage = reply.usage
    assert usage.prompt_tokens_details.cached_tokens == 100
    row = claude_gateway.log(raw.headers["x-request-id"])
    assert (row["input_tokens"], row["cached_tokens"], row["cache_write_tokens"]) == (usage.prompt_tokens, 100, 10)
    assert usage.prompt_tokens == input_tokens_for(sent.json) + 100 + 10  # Anthropic's input excludes the cache
    assert "max_tokens was not given" in row["notes"]


def test_stream_with_usage_chunk(claude_gateway, anthropic_upstream):
    anthropic_upstream.cache_read_tokens = 40
    chunks = list(
        claude_gateway.client().chat.completions.create(
            model="claude-sonnet-4-6", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY_TEXT
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens_details.cached_tokens == 40
    assert anthropic_upstream.requests[-1].json["stream"] is True


def test_reasoning_effort_becomes_thinking_and_streams_back_as_reasoning_content(claude_gateway, anthropic_upstream):
    stream = claude_gateway.client().chat.completions.create(
        model="claude-sonnet-4-6", messages=MESSAGES, stream=True, reasoning_effort="low"
    )
    deltas = [c.choices[0].delta for c in stream if c.choices]
    assert "".join(getattr(d, "reasoning_content", None) or "" for d in deltas) == THINKING_TEXT
    assert "".join(d.content or "" for d in deltas) == REPLY_TEXT
    assert anthropic_upstream.requests[-1].json["thinking"] == {"type": "enabled", "budget_tokens": 2048}


def test_parallel_tool_calls_stream(claude_gateway, anthropic_upstream):
    anthropic_upstream.parallel_tools = True
    stream = claude_gateway.client().chat.completions.create(
        model="claude-sonnet-4-6", messages=MESSAGES, tools=TOOLS, stream=True
    )
    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        for call in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": call.id, "name": call.function.name, "arguments": ""})
            entry["arguments"] += call.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert [c["name"] for c in calls.values()] == ["get_weather", "get_time"]
    assert all(json.loads(c["arguments"]) == TOOL_INPUT and c["id"].startswith("toolu_") for c in calls.values())
    assert finish == "tool_calls"


def test_tool_call_then_tool_result_non_stream(claude_gateway, anthropic_upstream):
    client = claude_gateway.client()
    reply = client.chat.completions.create(model="claude-sonnet-4-6", messages=MESSAGES, tools=TOOLS[:1])
    [call] = reply.choices[0].message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", TOOL_INPUT)
    assert reply.choices[0].finish_reason == "tool_calls"
    history = [
        *MESSAGES,
        reply.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18°C"},
    ]
    final = client.chat.completions.create(
        model="claude-sonnet-4-6", messages=history, tools=TOOLS[:1], tool_choice="none"
    )
    assert final.choices[0].message.content == REPLY_TEXT
    sent = anthropic_upstream.requests[-1].json
    assert sent["messages"][-1] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18°C"}],
    }
    assert sent["tool_choice"] == {"type": "none"}


def test_upstream_overloaded_is_openai_shaped(claude_gateway, anthropic_upstream):
    anthropic_upstream.fail_next(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    with pytest.raises(openai.APIStatusError) as info:
        claude_gateway.client().chat.completions.create(model="claude-sonnet-4-6", messages=MESSAGES)
    assert info.value.status_code == 529
    assert info.value.code == "overloaded_error" and "Overloaded" in info.value.message


def test_wrong_channel_secret_is_reported_as_a_gateway_problem(claude_gateway, anthropic_upstream):
    anthropic_upstream.required_api_key = "sk-ant-rotated-upstream"  # the channel's secret is now stale
    with pytest.raises(openai.APIStatusError) as info:
        claude_gateway.client().chat.completions.create(model="claude-sonnet-4-6", messages=MESSAGES)
    assert info.value.status_code == 502 and "invalid x-api-key" in info.value.message
