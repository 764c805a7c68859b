"""The Responses API through onegate with the real openai SDK: translated to Chat, passed through, selftest."""

from __future__ import annotations

import socket
import threading
import time

import openai
import orjson
import pytest

from onegate.providers.selftest import REPLY
from tests.conftest import UPSTREAM_SECRET, channel_config, raw_request
from tests.fakes.openai_upstream import REPLY_TEXT, TOOL_ARGUMENTS

TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]


def _events(stream) -> list:
    events = list(stream)
    assert events[-1].type == "response.completed", [e.type for e in events]
    assert events[-1].response.id.startswith("resp_")
    assert [e.sequence_number for e in events] == list(range(len(events)))
    return events


@pytest.fixture
def passthrough(start_gateway, upstream, monkeypatch):
    """onegate with a channel that serves /responses itself (responses_api: true)."""
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    return start_gateway(channel_config(upstream, responses_api=True))


# Translated to a Chat Completions upstream ------------------------------------------------------------


def test_responses_create_is_translated_to_chat_completions(proxied, upstream):
    raw = proxied.client().responses.with_raw_response.create(
        model="fast", input="hello there", instructions="Be brief.", max_output_tokens=50
    )
    response = raw.parse()
    assert response.output_text == REPLY_TEXT
    assert response.status == "completed" and response.id.startswith("resp_")
    sent = upstream.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.json == {
        "model": "gpt-4.1-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}],
        "max_tokens": 50,
    }
    row = proxied.log(raw.headers["x-request-id"])
    assert (row["dialect"], row["status"], row["model_routed"]) == ("openai_responses", 200, "gpt-4.1-mini")
    assert row["input_tokens"] == response.usage.input_tokens and row["output_tokens"] == response.usage.output_tokens


def test_responses_stream_from_chat_upstream_ends_in_completed_with_usage(proxied, upstream):
    upstream.cached_tokens = 2
    events = _events(proxied.client().responses.create(model="gpt-4.1-mini", input="hi", stream=True))
    types = [e.type for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == REPLY_TEXT
    done = next(e for e in events if e.type == "response.output_item.done")
    assert done.item.content[0].text == REPLY_TEXT and done.item.status == "completed"
    completed = events[-1].response
    assert completed.output[0].id == done.item.id
    assert completed.usage.input_tokens_details.cached_tokens == 2
    assert completed.usage.total_tokens == completed.usage.input_tokens + completed.usage.output_tokens


def test_responses_stream_helper_gets_a_function_call_from_chat_upstream(proxied):
    client = proxied.client()
    with client.responses.stream(model="gpt-4.1-mini", input="weather in Paris?", tools=TOOLS) as stream:
        deltas = [e.delta for e in stream if e.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    call = final.output[0]
    assert (call.type, call.name, call.status) == ("function_call", "get_weather", "completed")
    assert call.call_id.startswith("call_fake") and call.arguments == "".join(deltas) == TOOL_ARGUMENTS


def test_multi_turn_history_with_function_outputs_reaches_chat_upstream_in_order(proxied, upstream):
    history = [
        {"role": "developer", "content": "You are terse."},
        {"role": "user", "content": [{"type": "input_text", "text": "weather in Paris and Rome?"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA-opaque"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": '{"city":"Rome"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"type": "function_call_output", "call_id": "c2", "output": "rain"},
    ]
    raw = proxied.client().responses.with_raw_response.create(
        model="gpt-4.1-mini", input=history, tools=TOOLS, tool_choice="none", store=False
    )
    assert raw.parse().output_text == REPLY_TEXT
    messages = upstream.requests[-1].json["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "tool"]
    assert [c["id"] for c in messages[2]["tool_calls"]] == ["c1", "c2"]
    assert [(m["tool_call_id"], m["content"]) for m in messages[3:]] == [("c1", "sunny"), ("c2", "rain")]
    assert "encrypted reasoning dropped" in proxied.log(raw.headers["x-request-id"])["notes"]


def test_upstream_error_before_the_first_byte_is_an_openai_error(proxied, upstream):
    upstream.fail_next(
        429, {"error": {"message": "Rate limit reached. Please try again in 2s.", "code": "rate_limit_exceeded"}}
    )
    with pytest.raises(openai.RateLimitError) as info:
        proxied.client().responses.create(model="gpt-4.1-mini", input="hi", stream=True)
    assert "try again in 2s" in info.value.message
    assert info.value.body["code"] == "rate_limit_exceeded"


def test_stream_cut_midway_ends_in_response_failed(proxied, upstream):
    upstream.cut_stream_after = 3
    events = list(proxied.client().responses.create(model="gpt-4.1-mini", input="hi", stream=True))
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.code == "server_error"
    assert "before finishing its answer" in events[-1].response.error.message
    assert not any(e.type == "response.completed" for e in events)


def test_keepalive_events_flow_on_a_silent_stream(start_gateway, upstream):
    upstream.chunk_delay = 0.5
    gw = start_gateway(channel_config(upstream, timeouts={"keepalive": 0.1}))
    events = _events(gw.client().responses.create(model="gpt-4.1-mini", input="hi", stream=True))
    # Codex's idle timer resets only on a real event, so the keep-alives are events, numbered like the rest.
    assert sum(e.type == "keepalive" for e in events) >= 4


# Passed through to a channel that serves the Responses API ---------------------------------------------


def test_passthrough_touches_only_the_model(passthrough, upstream):
    body = {"model": "fast", "input": [{"role": "user", "content": "hi"}], "store": False, "include": ["x"]}
    response = passthrough.client().responses.create(**body)
    assert response.output_text == REPLY_TEXT and response.id.startswith("resp_fake")
    sent = upstream.requests[-1]
    assert sent.path == "/v1/responses" and sent.json == {**body, "model": "gpt-4.1-mini"}


def test_passthrough_stream_is_relayed_byte_for_byte_and_billed(passthrough, upstream):
    body = {"model": "gpt-4.1-mini", "input": "hi", "stream": True}
    headers = {"Authorization": f"Bearer {passthrough.key}"}
    via = raw_request("POST", passthrough.base_url + "/responses", body, headers)
    direct = raw_request("POST", upstream.base_url + "/responses", body, {"Authorization": f"Bearer {UPSTREAM_SECRET}"})

    def normalise(raw: bytes) -> bytes:  # ids and timestamps differ between two calls
        import re

        return re.sub(rb'"(id|item_id|created_at)":("[^"]*"|\d+)', b"", raw)

    assert normalise(via.body) == normalise(direct.body)
    row = passthrough.log(via.headers["x-request-id"])
    assert row["output_tokens"] > 0 and not row["usage_estimated"]


def test_passthrough_stream_helper_and_tool_call(passthrough):
    with passthrough.client().responses.stream(model="gpt-4.1-mini", input="weather?", tools=TOOLS) as stream:
        final = stream.get_final_response()
    assert final.output[0].type == "function_call" and final.output[0].arguments == TOOL_ARGUMENTS


def test_passthrough_stream_cut_midway_ends_in_response_failed(passthrough, upstream):
    upstream.cut_stream_after = 4
    events = list(passthrough.client().responses.create(model="gpt-4.1-mini", input="hi", stream=True))
    assert [e.type for e in events][-1] == "response.failed"
    assert events[-1].sequence_number == 4 and events[-1].response.id.startswith("resp_fake")


# The self-test model -------------------------------------------------------------------------------------


def test_selftest_answers_on_responses_stream_and_not(start_gateway):
    client = start_gateway().client()
    assert client.responses.create(model="onegate-selftest", input="hi").output_text == REPLY
    events = _events(client.responses.create(model="onegate-selftest", input="hi", stream=True))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == REPLY


# Codex CLI ------------------------------------------------------------------------------------------------

# The shape Codex 0.171.0 sends (docs/CLIENTS.md §2.5): developer items instead of `instructions`, a
# namespace tool, a hosted web_search tool, encrypted reasoning asked for, store false, a prompt cache key.
CODEX_BODY = {
    "model": "gpt-4.1-mini",
    "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions>"}]},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "say hi"}]},
    ],
    "tools": [
        {
            "type": "function",
            "name": "exec_command",
            "description": "Runs a command",
            "strict": False,
            "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
        },
        {
            "type": "namespace",
            "name": "multi_agent_v1",
            "description": "Sub-agents",
            "tools": [{"type": "function", "name": "spawn_agent", "parameters": {"type": "object", "properties": {}}}],
        },
        {"type": "web_search", "external_web_access": False},
    ],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "reasoning": {"summary": "auto"},
    "store": False,
    "stream": True,
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "0199a213-81c0-7800-8aa1-bbab2a035a53",
    "client_metadata": {"x": "y"},
}
CODEX_HEADERS = {"originator": "codex_exec", "user-agent": "codex_exec/0.171.0 (Debian 12.0.0; x86_64) dumb"}


def test_codex_request_works_through_a_chat_only_upstream(proxied, upstream):
    headers = {**CODEX_HEADERS, "Authorization": f"Bearer {proxied.key}"}
    response = raw_request("POST", proxied.base_url + "/responses", CODEX_BODY, headers)
    assert response.status == 200
    events = [orjson.loads(line[6:]) for line in response.body.split(b"\n") if line.startswith(b"data: ")]
    assert events[-1]["type"] == "response.completed" and events[-1]["response"]["id"]
    call = next(e["item"] for e in events if e["type"] == "response.output_item.done")
    assert (call["type"], call["name"], call["arguments"]) == ("function_call", "exec_command", TOOL_ARGUMENTS)
    sent = upstream.requests[-1].json
    assert [t["function"]["name"] for t in sent["tools"]] == ["exec_command", "multi_agent_v1__spawn_agent"]
    system = sent["messages"][0]
    assert system["role"] == "system" and system["content"].index("<permissions>") < system["content"].index("Codex.")
    row = proxied.log(response.headers["x-request-id"])
    assert row["client_name"] == "codex" and "tool 'web_search' dropped" in row["notes"]


def test_hosted_tool_a_chat_upstream_cannot_run_is_refused_naming_type_and_model(proxied, upstream):
    body = {**CODEX_BODY, "tools": [*CODEX_BODY["tools"], {"type": "file_search", "vector_store_ids": ["vs_1"]}]}
    response = raw_request("POST", proxied.base_url + "/responses", body, {"Authorization": f"Bearer {proxied.key}"})
    assert response.status == 400
    error = response.json()["error"]
    assert "'file_search'" in error["message"] and "'gpt-4.1-mini'" in error["message"]
    assert error["param"] == "tools" and not upstream.requests


def test_codex_websocket_attempt_gets_a_prompt_426(proxied):
    host, port = proxied.root.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"GET /api/v1/responses HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"openai-beta: responses_websockets=2026-02-06\r\n\r\n"
        )
        started = time.monotonic()
        answer = sock.recv(4096)
    assert time.monotonic() - started < 2
    assert answer.startswith(b"HTTP/1.1 426")
    assert b"does not accept WebSocket connections" in answer


# Cursor's quirk -----------------------------------------------------------------------------------------


def test_responses_shaped_body_on_chat_completions_is_answered_as_chat(proxied, upstream):
    body = {
        "model": "gpt-4.1-mini",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "low"},
        "text": {"verbosity": "low"},
    }
    headers = {"Authorization": f"Bearer {proxied.key}"}
    plain = raw_request("POST", proxied.base_url + "/chat/completions", body, headers)
    assert plain.status == 200 and plain.json()["choices"][0]["message"]["content"] == REPLY_TEXT
    assert upstream.requests[-1].json["messages"] == [{"role": "user", "content": "hi"}]

    streamed = raw_request(
        "POST",
        proxied.base_url + "/chat/completions",
        {**body, "stream": True, "stream_options": {"include_usage": True}},
        headers,
    )
    chunks = [orjson.loads(line[6:]) for line in streamed.body.split(b"\n") if line.startswith(b"data: {")]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == REPLY_TEXT
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert streamed.body.endswith(b"data: [DONE]\n\n")
    row = proxied.log(streamed.headers["x-request-id"])
    assert row["dialect"] == "openai_chat_responses_body" and "Cursor" in row["notes"]


def test_first_event_reaches_responses_client_while_upstream_holds_the_rest(proxied, upstream):
    release = threading.Event()
    upstream.hold_after_first_chunk = release
    stream = proxied.client().responses.create(model="gpt-4.1-mini", input="hi", stream=True)
    started = time.monotonic()
    first = next(iter(stream))
    assert time.monotonic() - started < 2 and first.type == "response.created"
    release.set()
    assert [e.type for e in stream][-1] == "response.completed"
