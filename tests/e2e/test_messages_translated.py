"""Messages clients on non-Anthropic models (Claude Code on DeepSeek, GPT, a local vLLM; the self-test
model), with the real anthropic SDK: translated both ways, streams as the SDK expects, count_tokens
estimated locally, Claude Code's built-in names mapped by the config."""

from __future__ import annotations

import threading

import orjson

from onegate.providers.selftest import REPLY
from tests.conftest import raw_request
from tests.fakes.openai_upstream import REPLY_TEXT, TOOL_ARGUMENTS

MESSAGES = [{"role": "user", "content": "hello there"}]
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_non_stream_text_with_cached_usage_converted(claude_gateway, upstream):
    upstream.cached_tokens = 2
    client = claude_gateway.anthropic_client(x_api_key=True)
    raw = client.messages.with_raw_response.create(
        model="gpt-4.1-mini", max_tokens=50, system="Be brief.", messages=MESSAGES
    )
    message = raw.parse()
    assert message.type == "message" and message.content[0].text == REPLY_TEXT
    assert message.stop_reason == "end_turn" and message.model == "gpt-4.1-mini"
    sent = upstream.requests[-1].json
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, *MESSAGES]
    assert sent["max_tokens"] == 50
    row = claude_gateway.log(raw.headers["x-request-id"])
    # Chat's prompt_tokens include cached ones; Anthropic's input_tokens do not
    assert row["input_tokens"] == message.usage.input_tokens + 2 and row["cached_tokens"] == 2
    assert message.usage.cache_read_input_tokens == 2
    assert row["dialect"] == "anthropic_messages" and row["channel"] == "fake"


def test_stream_helper_on_a_chat_upstream(claude_gateway, upstream):
    client = claude_gateway.anthropic_client()
    with client.messages.stream(model="gpt-4.1-mini", max_tokens=50, messages=MESSAGES) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_message()
        request_id = stream.response.headers["x-request-id"]
    assert final.content[0].text == REPLY_TEXT and final.stop_reason == "end_turn"
    assert events[0] == "message_start" and events[-1] == "message_stop" and "text" in events
    assert upstream.requests[-1].json["stream_options"] == {"include_usage": True}
    row = claude_gateway.log(request_id)
    assert final.usage.input_tokens == row["input_tokens"] > 0  # message_delta carried the real count
    assert final.usage.output_tokens == row["output_tokens"] > 0 and not row["usage_estimated"]


def test_message_start_carries_a_prompt_estimate_before_the_real_count(claude_gateway, upstream):
    response = raw_request(
        "POST",
        claude_gateway.base_url + "/messages",
        {
            "model": "gpt-4.1-mini",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "x" * 400}],
            "stream": True,
        },
        {"x-api-key": claude_gateway.key, "content-type": "application/json"},
    )
    start = response.body.split(b"\n\n")[0]
    assert start.startswith(b"event: message_start\n")
    assert orjson.loads(start.split(b"data: ", 1)[1])["message"]["usage"]["input_tokens"] == 100


def test_tools_round_trip_non_stream_and_stream(claude_gateway, upstream):
    client = claude_gateway.anthropic_client()
    message = client.messages.create(model="gpt-4.1-mini", max_tokens=50, messages=MESSAGES, tools=[WEATHER])
    [block] = message.content
    assert (block.type, block.name, block.input) == ("tool_use", "get_weather", orjson.loads(TOOL_ARGUMENTS))
    assert message.stop_reason == "tool_use"
    assert upstream.requests[-1].json["tools"][0]["function"]["parameters"] == WEATHER["input_schema"]
    with client.messages.stream(model="gpt-4.1-mini", max_tokens=50, messages=MESSAGES, tools=[WEATHER]) as stream:
        final = stream.get_final_message()
    assert [(b.type, b.id, b.input) for b in final.content] == [("tool_use", block.id[:-1] + "2", block.input)]
    follow_up = [
        *MESSAGES,
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "18°C"}]},
    ]
    client.messages.create(model="gpt-4.1-mini", max_tokens=50, messages=follow_up)
    assert upstream.requests[-1].json["messages"][-1] == {"role": "tool", "tool_call_id": block.id, "content": "18°C"}


def test_claude_code_request_is_tolerated_and_what_was_dropped_is_logged(claude_gateway, upstream):
    body = {
        "model": "gpt-4.1-mini",
        "max_tokens": 32000,
        "stream": True,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197"},
            {"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "say hi", "cache_control": {"type": "ephemeral"}}]},
            {"role": "system", "content": "Reply briefly."},
        ],
        "tools": [{"name": "Bash", "description": "Run", "input_schema": {"type": "object"}}],
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": orjson.dumps({"device_id": "d" * 64, "session_id": "s"}).decode()},
    }
    headers = {
        "authorization": f"Bearer {claude_gateway.key}",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
        "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
        "x-app": "cli",
        "content-type": "application/json",
    }
    response = raw_request("POST", claude_gateway.base_url + "/messages?beta=true", body, headers)
    assert response.status == 200
    assert b"event: message_stop" in response.body
    assert "anthropic-beta" not in upstream.requests[-1].headers  # betas mean nothing to a Chat upstream
    row = claude_gateway.log(response.headers["x-request-id"])
    assert row["client_name"] == "claude-code" and row["path"].endswith("?beta=true")
    assert "context_management" in row["notes"] and "thinking" in row["notes"]


def test_claude_code_builtin_model_names_are_mapped(claude_gateway, upstream):
    restricted = claude_gateway.create_key("cc", models=["gpt-4.1-mini"])
    client = claude_gateway.anthropic_client(api_key=restricted)
    raw = client.messages.with_raw_response.create(model="claude-haiku-4-5-20251001", max_tokens=20, messages=MESSAGES)
    assert raw.parse().model == "claude-haiku-4-5-20251001"  # the client sees the name it asked for
    assert upstream.requests[-1].json["model"] == "gpt-4.1-mini"
    row = claude_gateway.log(raw.headers["x-request-id"])
    assert (row["model_requested"], row["model_routed"]) == ("claude-haiku-4-5-20251001", "gpt-4.1-mini")
    assert "model_map: claude-haiku-4-5-20251001 served as gpt-4.1-mini" in row["notes"]


def test_count_tokens_on_a_chat_model_is_a_local_estimate_said_so(claude_gateway, upstream):
    client = claude_gateway.anthropic_client(x_api_key=True)
    raw = client.messages.with_raw_response.count_tokens(
        model="claude-haiku-4-5-20251001", system="s" * 40, messages=[{"role": "user", "content": "x" * 400}]
    )
    assert raw.parse().input_tokens == 110
    assert raw.headers["x-onegate-token-count"] == "estimate"
    assert upstream.requests == []  # nothing was sent anywhere
    row = claude_gateway.log(raw.headers["x-request-id"])
    assert row["status"] == 200 and "estimated locally" in row["notes"] and row["cost_micros"] == 0


def test_ping_keeps_a_silent_stream_alive(start_gateway, upstream):
    from tests.conftest import channel_config

    config = channel_config(upstream)
    config["channels"][0]["timeouts"] = {"keepalive": 0.05}
    gw = start_gateway(config)
    upstream.hold_after_first_chunk = hold = threading.Event()
    threading.Timer(0.3, hold.set).start()
    response = raw_request(
        "POST",
        gw.base_url + "/messages",
        {"model": "gpt-4.1-mini", "max_tokens": 10, "messages": MESSAGES, "stream": True},
        {"x-api-key": gw.key, "content-type": "application/json"},
    )
    assert b'event: ping\ndata: {"type": "ping"}\n\n' in response.body
    assert response.body.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')


def test_selftest_model_answers_messages_stream_non_stream_and_count_tokens(start_gateway):
    gw = start_gateway()
    client = gw.anthropic_client()
    message = client.messages.create(model="onegate-selftest", max_tokens=50, messages=MESSAGES)
    assert message.content[0].text == REPLY and message.usage.input_tokens > 0
    with client.messages.stream(model="onegate-selftest", max_tokens=50, messages=MESSAGES) as stream:
        assert "".join(stream.text_stream) == REPLY
        assert stream.get_final_message().usage.output_tokens > 0
    forced = {"type": "tool", "name": "get_weather"}  # it calls a tool only when forced (test_selftest_model.py)
    with_tool = client.messages.create(
        model="onegate-selftest", max_tokens=50, messages=MESSAGES, tools=[WEATHER], tool_choice=forced
    )
    assert with_tool.content[0].input == {"city": "test"} and with_tool.stop_reason == "tool_use"
    result = {"type": "tool_result", "tool_use_id": with_tool.content[0].id, "content": "18°C"}
    history = [*MESSAGES, {"role": "assistant", "content": with_tool.content}, {"role": "user", "content": [result]}]
    answer = client.messages.create(model="onegate-selftest", max_tokens=50, messages=history, tools=[WEATHER])
    assert answer.content[0].text == REPLY and answer.stop_reason == "end_turn"  # an agent's loop ends
    assert client.messages.count_tokens(model="onegate-selftest", messages=MESSAGES).input_tokens > 0
