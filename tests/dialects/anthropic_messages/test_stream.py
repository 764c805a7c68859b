"""The Messages pass-through relay and the encoder's block numbering."""

from __future__ import annotations

import orjson
import pytest

from onegate.accounting.usage import Usage
from onegate.dialects import canonical as c
from onegate.dialects.anthropic_messages.stream import PING, MessagesStreamEncoder, MessagesStreamRelay
from onegate.dialects.protocols import UpstreamStreamError


def _event(data: dict) -> bytes:
    return b"event: " + data["type"].encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def test_relay_forwards_bytes_unchanged_and_reads_usage():
    relay = MessagesStreamRelay()
    start = {
        "type": "message_start",
        "message": {"id": "m", "usage": {"input_tokens": 3, "cache_read_input_tokens": 9}},
    }
    events = [
        _event(start),
        _event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        PING,
        _event({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}}),
        _event({"type": "message_stop"}),
    ]
    assert [relay.feed(e) for e in events] == events
    assert relay.done and relay.usage == Usage(input_tokens=12, cached_tokens=9, output_tokens=4, reported=True)


def test_relay_turns_an_upstream_error_event_into_a_stream_error():
    relay = MessagesStreamRelay()
    with pytest.raises(UpstreamStreamError, match="Overloaded"):
        relay.feed(_event({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))


def test_encoder_numbers_blocks_from_zero_and_opens_the_message_if_needed():
    encoder = MessagesStreamEncoder("m", 0, {"messages": [{"role": "user", "content": "x" * 40}]})
    out = encoder.encode(c.BlockStart(7, c.TextPart("")))
    out += encoder.encode(c.BlockDelta(7, "text", "hi"))
    out += encoder.encode(c.BlockDelta(3, "text", "from a block never opened"))
    out += encoder.encode(c.StreamEnd("end_turn", None))  # closes block 7 itself
    names = [line[7:] for line in out.decode().splitlines() if line.startswith("event: ")]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert b'"index":0' in out and b'"index":7' not in out and b"never opened" not in out
    assert b'"input_tokens":10' in out  # no upstream usage yet: the local estimate
