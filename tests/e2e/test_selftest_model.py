"""The built-in onegate-selftest model through the real openai SDK: no upstream, no cost."""

from __future__ import annotations

import orjson
import pytest

from onegate.providers.selftest import REPLY
from tests.conftest import raw_request

MODEL = "onegate-selftest"


def test_models_list_includes_selftest(start_gateway):
    gw = start_gateway()
    ids = [m.id for m in gw.client().models.list()]
    assert ids == [MODEL]


def test_chat_non_stream_is_deterministic_with_usage(start_gateway):
    gw = start_gateway()
    client = gw.client()
    first = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    second = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert first.choices[0].message.content == REPLY == second.choices[0].message.content
    assert first.choices[0].finish_reason == "stop"
    assert first.usage.prompt_tokens > 0 and first.usage.completion_tokens > 0
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens


def test_chat_stream_without_usage_option_has_several_chunks_and_no_usage_chunk(start_gateway):
    gw = start_gateway()
    chunks = list(
        gw.client().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True)
    )
    assert len(chunks) >= 5
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    assert all(c.choices for c in chunks), "a usage-only chunk was sent although the client did not ask"


def test_chat_stream_with_include_usage_ends_with_usage_chunk(start_gateway):
    gw = start_gateway()
    chunks = list(
        gw.client().chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens > 0


def test_chat_with_tools_returns_a_tool_call(start_gateway):
    gw = start_gateway()
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    reply = gw.client().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "weather?"}], tools=tools
    )
    call = reply.choices[0].message.tool_calls[0]
    assert reply.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert orjson.loads(call.function.arguments) == {"city": "test"}

    stream = gw.client().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "weather?"}], tools=tools, stream=True
    )
    arguments, names = "", []
    for chunk in stream:
        for delta_call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            names.append(delta_call.function.name)
            arguments += delta_call.function.arguments or ""
    assert "get_weather" in names
    assert orjson.loads(arguments) == {"city": "test"}


def test_legacy_completions_stream_and_not(start_gateway):
    gw = start_gateway()
    client = gw.client()
    assert client.completions.create(model=MODEL, prompt="hi").choices[0].text == REPLY
    text = "".join(c.choices[0].text for c in client.completions.create(model=MODEL, prompt="hi", stream=True))
    assert text == REPLY


def test_embeddings_base64_default_and_float(start_gateway):
    gw = start_gateway()
    client = gw.client()
    by_sdk = client.embeddings.create(model=MODEL, input=["a", "b"])  # the SDK asks for base64
    assert [len(d.embedding) for d in by_sdk.data] == [16, 16]
    as_float = client.embeddings.create(model=MODEL, input="a", encoding_format="float")
    assert as_float.data[0].embedding == pytest.approx(by_sdk.data[0].embedding, rel=1e-6)  # float32 on the wire
    assert by_sdk.data[0].embedding != by_sdk.data[1].embedding


def test_selftest_request_is_logged_at_zero_cost(start_gateway):
    gw = start_gateway()
    raw = gw.client().chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    row = gw.log(raw.headers["x-request-id"])
    assert row["status"] == 200
    assert row["cost_micros"] == 0
    assert row["output_tokens"] > 0


def test_healthz_and_v1_alias(start_gateway):
    gw = start_gateway()
    assert raw_request("GET", gw.root + "/healthz").status == 200
    response = raw_request(
        "POST",
        gw.root + "/v1/chat/completions",
        {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        {"Authorization": f"Bearer {gw.key}"},
    )
    assert response.status == 200
    assert response.json()["choices"][0]["message"]["content"] == REPLY
