"""OpenAI-compatible upstreams through onegate with the real openai SDK: pass-through, streaming, usage."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from tests.conftest import UPSTREAM_SECRET, raw_request
from tests.fakes.openai_upstream import REPLY_TEXT, TOOL_ARGUMENTS

MESSAGES = [{"role": "user", "content": "hello there"}]


def test_chat_non_stream_passes_through_with_channel_credentials(proxied, upstream):
    raw = proxied.client().chat.completions.with_raw_response.create(
        model="gpt-4.1-mini", messages=MESSAGES, temperature=0.3, max_completion_tokens=20
    )
    reply = raw.parse()
    assert reply.choices[0].message.content == REPLY_TEXT
    sent = upstream.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_SECRET}"  # never the client's key
    assert proxied.key not in sent.body.decode()
    # only the model is touched; every other field arrives as the client sent it
    assert sent.json == {"model": "gpt-4.1-mini", "messages": MESSAGES, "temperature": 0.3, "max_completion_tokens": 20}
    row = proxied.log(raw.headers["x-request-id"])
    assert (row["status"], row["channel"], row["model_routed"]) == (200, "fake", "gpt-4.1-mini")
    assert row["input_tokens"] == reply.usage.prompt_tokens
    assert row["output_tokens"] == reply.usage.completion_tokens


def test_alias_routes_to_upstream_model_name(proxied, upstream):
    reply = proxied.client().chat.completions.create(model="fast", messages=MESSAGES)
    assert reply.choices[0].message.content == REPLY_TEXT
    assert upstream.requests[-1].json["model"] == "gpt-4.1-mini"


def test_stream_without_usage_option_asks_upstream_for_usage_but_hides_the_usage_chunk(proxied, upstream):
    raw = proxied.client().chat.completions.with_raw_response.create(
        model="gpt-4.1-mini", messages=MESSAGES, stream=True
    )
    chunks = list(raw.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY_TEXT
    assert all(c.choices for c in chunks)
    assert upstream.requests[-1].json["stream_options"] == {"include_usage": True}
    row = proxied.log(raw.headers["x-request-id"])
    assert row["stream"] and row["output_tokens"] > 0 and not row["usage_estimated"]
    assert row["ttfb_ms"] is not None and row["ttfb_ms"] <= row["latency_ms"]


def test_stream_with_usage_option_keeps_the_usage_chunk(proxied, upstream):
    chunks = list(
        proxied.client().chat.completions.create(
            model="gpt-4.1-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_stream_is_relayed_byte_for_byte(proxied, upstream):
    body = {"model": "gpt-4.1-mini", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    direct = raw_request(
        "POST", upstream.base_url + "/chat/completions", body, {"Authorization": f"Bearer {UPSTREAM_SECRET}"}
    )
    via = raw_request("POST", proxied.base_url + "/chat/completions", body, {"Authorization": f"Bearer {proxied.key}"})
    assert via.headers["content-type"] == "text/event-stream"

    def normalise(raw: bytes) -> bytes:  # ids and timestamps differ between two calls
        import re

        return re.sub(rb'"(id|created)":("[^"]*"|\d+)', b"", raw)

    assert normalise(via.body) == normalise(direct.body)
    assert via.body.endswith(b"data: [DONE]\n\n")


def test_first_chunk_reaches_client_while_upstream_holds_the_rest(proxied, upstream):
    release = threading.Event()
    upstream.hold_after_first_chunk = release
    stream = proxied.client().chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES, stream=True)
    started = time.monotonic()
    first = next(iter(stream))
    assert time.monotonic() - started < 2, "the first chunk waited for the rest of the stream"
    assert not release.is_set()
    assert first.choices[0].delta.role == "assistant"
    release.set()
    rest = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in rest if c.choices) == REPLY_TEXT


def test_tool_call_stream_passes_through(proxied):
    tools = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    stream = proxied.client().chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES, tools=tools, stream=True)
    arguments = "".join(
        call.function.arguments or ""
        for chunk in stream
        if chunk.choices
        for call in chunk.choices[0].delta.tool_calls or []
    )
    assert orjson.loads(arguments) == orjson.loads(TOOL_ARGUMENTS)


def test_completions_and_embeddings_pass_through(proxied, upstream):
    client = proxied.client()
    assert client.completions.create(model="gpt-4.1-mini", prompt="hi").choices[0].text
    assert upstream.requests[-1].path == "/v1/completions"
    vectors = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(vectors.data) == 2 and len(vectors.data[0].embedding) == 8
    assert upstream.requests[-1].json["encoding_format"] == "base64"


def test_cached_tokens_are_logged_and_charged_at_cached_price(proxied, upstream):
    upstream.cached_tokens = 4
    raw = proxied.client().chat.completions.with_raw_response.create(model="gpt-4.1-mini", messages=MESSAGES)
    usage = raw.parse().usage
    row = proxied.log(raw.headers["x-request-id"])
    assert row["cached_tokens"] == 4
    # prices per 1M: input 0.4, cached 0.1, output 1.6 → micro-units per token: 0.4, 0.1, 1.6
    expected = round((usage.prompt_tokens - 4) * 0.4 + 4 * 0.1 + usage.completion_tokens * 1.6)
    assert row["cost_micros"] == expected
    assert orjson.loads(row["price"]) == {
        "input": 400000,
        "cached_input": 100000,
        "cache_write": 400000,
        "output": 1600000,
        "per_request": 0,
        "per_image": 0,
    }


def test_models_list_shows_channel_models_and_aliases(proxied):
    ids = {m.id for m in proxied.client().models.list()}
    selftests = {"onegate-selftest", "onegate-selftest-image", "onegate-selftest-video"}  # text, image, video
    assert ids == {"gpt-4.1-mini", "text-embedding-3-small", "fast", *selftests}
    assert proxied.client().models.retrieve("fast").id == "fast"


def test_key_limited_to_models_sees_only_those(proxied):
    key = proxied.create_key("limited", models=["gpt-4.1-mini"])
    client = proxied.client(api_key=key)
    assert [m.id for m in client.models.list()] == ["gpt-4.1-mini"]
    import openai

    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="fast", messages=MESSAGES)
    assert "may not use the model 'fast'" in info.value.message


def test_keepalives_flow_while_the_upstream_is_silent_mid_stream(start_gateway, upstream):
    from tests.conftest import channel_config

    upstream.chunk_delay = 0.5
    gw = start_gateway(channel_config(upstream, timeouts={"keepalive": 0.1}))
    body = {"model": "gpt-4.1-mini", "messages": MESSAGES, "stream": True}
    response = raw_request("POST", gw.base_url + "/chat/completions", body, {"Authorization": f"Bearer {gw.key}"})
    assert response.body.count(b": keep-alive\n\n") >= 4
    assert response.body.endswith(b"data: [DONE]\n\n")


def test_idle_upstream_mid_stream_ends_with_an_error_event(start_gateway, upstream):
    from tests.conftest import channel_config

    upstream.chunk_delay = 1.5
    gw = start_gateway(channel_config(upstream, timeouts={"keepalive": 0.2, "idle": 0.5}))
    body = {"model": "gpt-4.1-mini", "messages": MESSAGES, "stream": True}
    response = raw_request("POST", gw.base_url + "/chat/completions", body, {"Authorization": f"Bearer {gw.key}"})
    assert b"sent nothing for 0.5 s" in response.body
    assert b"data: [DONE]" not in response.body
