"""The Responses stream encoder and pass-through relay: keep-alives numbered, failures ended with our own
event, usage only from real terminal events, reasoning signatures carried only when asked for."""

from __future__ import annotations

import orjson
import pytest

from onegate import errors
from onegate.dialects import canonical as c
from onegate.dialects.openai_responses import request, stream
from onegate.dialects.protocols import UpstreamStreamError
from onegate.errors import GatewayError


def _data(raw: bytes) -> list[dict]:
    return [orjson.loads(line[6:]) for line in raw.split(b"\n") if line.startswith(b"data: ")]


def test_encoder_numbers_keepalives_with_the_other_events():
    encoder = stream.ResponsesStreamEncoder("m", 1700000000, {"model": "m", "input": "hi"})
    raw = encoder.encode(c.StreamStart("chatcmpl-1", "m")) + encoder.keepalive()
    raw += encoder.encode(c.StreamEnd("end_turn", None))
    events = _data(raw)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "keepalive",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == [0, 1, 2, 3]
    assert events[-1]["response"]["usage"]["total_tokens"] == 0  # Codex wants usage; absent upstream usage is zero


def test_encoder_failure_before_any_event_still_opens_the_response():
    encoder = stream.ResponsesStreamEncoder("m", 1700000000, {"model": "m", "input": "hi"})
    events = _data(encoder.fail(GatewayError(errors.UPSTREAM_BAD_RESPONSE, "boom"), "req_1"))
    assert [e["type"] for e in events] == ["response.created", "response.in_progress", "response.failed"]
    assert events[-1]["response"]["id"] == events[0]["response"]["id"]


@pytest.mark.parametrize(
    "failed",
    [
        b'event: response.failed\ndata: {"type":"response.failed","sequence_number":1,'
        b'"response":{"id":"resp_9","status":"failed","error":{"code":"server_error","message":"overloaded"}}}\n\n',
        b'event: error\ndata: {"type":"error","sequence_number":1,"code":"server_error","message":"overloaded"}\n\n',
    ],
    ids=["response.failed", "error"],
)
def test_passthrough_relay_ends_an_upstream_failure_with_its_own_event_never_the_upstreams(failed):
    """The upstream's failure event may quote onegate's credential: it is read, never forwarded."""
    relay = stream.ResponsesStreamRelay()
    created = (
        b'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_9"}}\n\n'
    )
    assert relay.feed(created) == created
    with pytest.raises(UpstreamStreamError, match="overloaded"):
        relay.feed(failed)
    ours = _data(relay.fail(GatewayError(errors.UPSTREAM_BAD_RESPONSE, "cleaned words"), "req_1"))
    assert ours == [
        {
            "type": "response.failed",
            "sequence_number": 1,
            "response": {
                "id": "resp_9",
                "object": "response",
                "status": "failed",
                "error": {"code": "server_error", "message": "cleaned words"},
            },
        }
    ]
    assert not relay.done


def test_passthrough_relay_reads_usage_only_from_real_terminal_events():
    relay = stream.ResponsesStreamRelay()
    relay.feed(b'data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1"}}\n\n')
    quoted = b'data: {"type":"response.output_text.delta","sequence_number":1,"delta":"response.completed"}\n\n'
    relay.feed(quoted)
    assert not relay.done
    relay.feed(
        b'data: {"type":"response.completed","sequence_number":2,"response":{"id":"resp_1","usage":'
        b'{"input_tokens":5,"input_tokens_details":{"cached_tokens":2},"output_tokens":3,'
        b'"output_tokens_details":{"reasoning_tokens":1},"total_tokens":8}}}\n\n'
    )
    assert relay.done
    assert (relay.usage.input_tokens, relay.usage.cached_tokens, relay.usage.reasoning_tokens) == (5, 2, 1)


def test_anthropic_thinking_signature_round_trips_through_encrypted_content():
    body = {"model": "m", "input": "hi", "include": ["reasoning.encrypted_content"]}
    encoder = stream.ResponsesStreamEncoder("m", 1700000000, body)
    raw = encoder.encode(c.StreamStart("msg_1", "m")) + encoder.encode(c.BlockStart(0, c.ThinkingPart("")))
    raw += encoder.encode(c.BlockDelta(0, "thinking", "Let me think."))
    raw += encoder.encode(c.BlockDelta(0, "signature", "EqQBsig=="))
    raw += encoder.encode(c.BlockStop(0)) + encoder.encode(c.StreamEnd("end_turn", None))
    item = next(e["item"] for e in _data(raw) if e["type"] == "response.output_item.done")
    assert item["encrypted_content"] == "onegate.thinking-signature:EqQBsig=="
    # the client sends the item back with its history: the Messages upstream gets its signed thinking
    history = {"model": "m", "input": [{"role": "user", "content": "hi"}, item, {"role": "user", "content": "go on"}]}
    request_back = request.to_canonical(history)
    assert request_back.messages[1].parts == [c.ThinkingPart("Let me think.", signature="EqQBsig==")]
    assert not request_back.notes


def test_signatures_stay_out_unless_encrypted_reasoning_is_asked_for():
    encoder = stream.ResponsesStreamEncoder("m", 1700000000, {"model": "m", "input": "hi"})
    raw = encoder.encode(c.BlockStart(0, c.ThinkingPart(""))) + encoder.encode(c.BlockDelta(0, "signature", "sig"))
    item = next(
        e["item"] for e in _data(raw + encoder.encode(c.BlockStop(0))) if e["type"] == "response.output_item.done"
    )
    assert "encrypted_content" not in item
    foreign = {"type": "reasoning", "summary": [{"type": "summary_text", "text": "t"}], "encrypted_content": "gAAAA"}
    request_back = request.to_canonical({"model": "m", "input": [{"role": "user", "content": "hi"}, foreign]})
    assert (
        request_back.messages[1].parts == [c.ThinkingPart("t")]
        and "encrypted reasoning dropped" in request_back.notes[0]
    )


def test_a_keepalive_before_the_upstream_speaks_opens_the_response_first():
    encoder = stream.ResponsesStreamEncoder("m", 1700000000, {"model": "m", "input": "hi"})
    raw = encoder.keepalive() + encoder.encode(c.StreamStart("chatcmpl-late", "m"))
    raw += encoder.encode(c.StreamEnd("end_turn", None))
    events = _data(raw)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "keepalive",
        "response.completed",
    ]
    assert events[0]["response"]["id"] == events[-1]["response"]["id"] == "resp_1700000000"
    relay = stream.ResponsesStreamRelay()
    assert relay.keepalive() == b": keep-alive\n\n"  # pass-through: the upstream's response.created comes first
