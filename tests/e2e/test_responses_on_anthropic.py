"""The Responses API on Claude models, with the real openai SDK against the fake Anthropic API: translated
both ways, streaming, tools and signed thinking included."""

from __future__ import annotations

import orjson
import pytest

from tests.fakes.anthropic_upstream import REPLY_TEXT, SIGNATURE, THINKING_TEXT, TOOL_INPUT

TOOLS = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}]


def test_non_stream_text_with_cache_tokens(claude_gateway, anthropic_upstream):
    anthropic_upstream.cache_read_tokens = 100
    raw = claude_gateway.client().responses.with_raw_response.create(
        model="sonnet", input="hello there", instructions="Be brief."
    )
    response = raw.parse()
    assert response.output_text == REPLY_TEXT and response.status == "completed"
    sent = anthropic_upstream.requests[-1]
    assert sent.path == "/v1/messages" and sent.json["system"] == [{"type": "text", "text": "Be brief."}]
    assert response.usage.input_tokens_details.cached_tokens == 100
    row = claude_gateway.log(raw.headers["x-request-id"])
    assert (row["dialect"], row["channel"], row["cached_tokens"]) == ("openai_responses", "claude", 100)


def test_stream_ends_in_completed_with_id_and_usage(claude_gateway):
    events = list(claude_gateway.client().responses.create(model="claude-sonnet-4-6", input="hi", stream=True))
    assert events[-1].type == "response.completed" and events[-1].response.id.startswith("resp_")
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == REPLY_TEXT
    assert events[-1].response.usage.output_tokens > 0


def test_stream_helper_gets_parallel_function_calls(claude_gateway, anthropic_upstream):
    anthropic_upstream.parallel_tools = True
    tools = [*TOOLS, {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}]
    with claude_gateway.client().responses.stream(model="sonnet", input="weather and time?", tools=tools) as stream:
        final = stream.get_final_response()
    assert [(o.type, o.name) for o in final.output] == [("function_call", "get_weather"), ("function_call", "get_time")]
    assert all(o.call_id.startswith("toolu_") and orjson.loads(o.arguments) == TOOL_INPUT for o in final.output)


def test_signed_thinking_survives_codex_style_history(claude_gateway, anthropic_upstream):
    """Codex keeps reasoning items (with encrypted_content) and sends them back: Claude gets its signed thinking."""
    client = claude_gateway.client()
    first = client.responses.create(
        model="sonnet",
        input="weather?",
        tools=TOOLS,
        reasoning={"effort": "low", "summary": "auto"},
        include=["reasoning.encrypted_content"],
        store=False,
        stream=True,
    )
    items = [e.item for e in first if e.type == "response.output_item.done"]
    reasoning, call = items
    assert reasoning.summary[0].text == THINKING_TEXT
    assert reasoning.encrypted_content == f"onegate.thinking-signature:{SIGNATURE}"
    history = [
        {"role": "user", "content": "weather?"},
        reasoning.model_dump(exclude_none=True),
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
    ]
    second = client.responses.create(
        model="sonnet", input=history, tools=TOOLS, reasoning={"effort": "low"}, include=["reasoning.encrypted_content"]
    )
    assert second.output_text == REPLY_TEXT  # the call was answered: the model replies in text
    assistant = anthropic_upstream.requests[-1].json["messages"][1]
    assert assistant["content"][0] == {"type": "thinking", "thinking": THINKING_TEXT, "signature": SIGNATURE}
    assert assistant["content"][1]["type"] == "tool_use" and assistant["content"][1]["id"] == call.call_id


def test_upstream_overload_mid_stream_ends_in_response_failed(claude_gateway, anthropic_upstream):
    anthropic_upstream.error_after = 3
    events = list(claude_gateway.client().responses.create(model="sonnet", input="hi", stream=True))
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.code == "server_error"  # Codex retries it


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_error_before_the_first_byte_keeps_its_status(claude_gateway, anthropic_upstream, stream):
    import openai

    anthropic_upstream.fail_next(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    with pytest.raises(openai.APIStatusError) as info:
        claude_gateway.client().responses.create(model="sonnet", input="hi", stream=stream)
    assert info.value.status_code == 529 and "Overloaded" in info.value.message
