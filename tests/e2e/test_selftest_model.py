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
    assert ids == [MODEL, f"{MODEL}-image", f"{MODEL}-video"]  # text, and the media self-tests


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


# Tools: text by default, so an agent pointed at the self-test model finishes its turn instead of acting;
# a tool call only when tool_choice forces one, in each surface's own spelling, streamed or not.

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TIME_SCHEMA = {"type": "object", "properties": {"zone": {"type": "integer"}}, "required": ["zone"]}
CHAT_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}},
    {"type": "function", "function": {"name": "get_time", "parameters": TIME_SCHEMA}},
]
MESSAGES_TOOLS = [
    {"name": "get_weather", "input_schema": WEATHER_SCHEMA},
    {"name": "get_time", "input_schema": TIME_SCHEMA},
]
RESPONSES_TOOLS = [
    {"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA},
    {"type": "function", "name": "get_time", "parameters": TIME_SCHEMA},
]
CALLS = {"get_weather": {"city": "test"}, "get_time": {"zone": 1}}


def _chat(gw, stream: bool, **kwargs) -> tuple[str, list[tuple[str, dict]], str]:
    """(text, [(tool name, arguments)], finish reason) of one Chat Completions call, streamed or not."""
    messages = [{"role": "user", "content": "weather?"}]
    if not stream:
        choice = gw.client().chat.completions.create(model=MODEL, messages=messages, **kwargs).choices[0]
        calls = [(c.function.name, orjson.loads(c.function.arguments)) for c in choice.message.tool_calls or []]
        return choice.message.content or "", calls, choice.finish_reason
    text, names, arguments, finish = "", [], "", ""
    for chunk in gw.client().chat.completions.create(model=MODEL, messages=messages, stream=True, **kwargs):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
            for call in choice.delta.tool_calls or []:
                names += [call.function.name] if call.function.name else []
                arguments += call.function.arguments or ""
    return text, [(name, orjson.loads(arguments)) for name in names], finish


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("tool_choice", [None, "auto"])
def test_chat_with_tools_answers_in_text_unless_forced(start_gateway, stream, tool_choice):
    extra = {"tool_choice": tool_choice} if tool_choice else {}
    assert _chat(start_gateway(), stream, tools=CHAT_TOOLS, **extra) == (REPLY, [], "stop")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    ("tool_choice", "called"),
    [("required", "get_weather"), ({"type": "function", "function": {"name": "get_time"}}, "get_time")],
    ids=["required", "named"],
)
def test_chat_calls_the_tool_tool_choice_forces(start_gateway, stream, tool_choice, called):
    text, calls, finish = _chat(start_gateway(), stream, tools=CHAT_TOOLS, tool_choice=tool_choice)
    assert (text, calls, finish) == ("", [(called, CALLS[called])], "tool_calls")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    ("tool_choice", "called"),
    [
        (None, None),
        ({"type": "auto"}, None),
        ({"type": "any"}, "get_weather"),
        ({"type": "tool", "name": "get_time"}, "get_time"),
    ],
    ids=["absent", "auto", "any", "named"],
)
def test_messages_call_a_tool_only_when_tool_choice_forces_one(start_gateway, stream, tool_choice, called):
    client = start_gateway().anthropic_client()
    kwargs = {
        "model": MODEL,
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": MESSAGES_TOOLS,
    }
    kwargs |= {"tool_choice": tool_choice} if tool_choice else {}
    if stream:
        with client.messages.stream(**kwargs) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(**kwargs)
    if called is None:
        assert [b.type for b in message.content] == ["text"] and message.content[0].text == REPLY
        assert message.stop_reason == "end_turn"
    else:
        assert [(b.type, b.name, b.input) for b in message.content] == [("tool_use", called, CALLS[called])]
        assert message.stop_reason == "tool_use"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    ("tool_choice", "called"),
    [(None, None), ("auto", None), ("required", "get_weather"), ({"type": "function", "name": "get_time"}, "get_time")],
    ids=["absent", "auto", "required", "named"],
)
def test_responses_call_a_tool_only_when_tool_choice_forces_one(start_gateway, stream, tool_choice, called):
    client = start_gateway().client()
    kwargs = {"model": MODEL, "input": "hi", "tools": RESPONSES_TOOLS}
    kwargs |= {"tool_choice": tool_choice} if tool_choice else {}
    if stream:
        with client.responses.stream(**kwargs) as events:
            response = events.get_final_response()
    else:
        response = client.responses.create(**kwargs)
    if called is None:
        assert [item.type for item in response.output] == ["message"] and response.output_text == REPLY
    else:
        [call] = response.output
        assert (call.type, call.name, orjson.loads(call.arguments)) == ("function_call", called, CALLS[called])
        assert call.call_id == "call_selftest_1"


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
