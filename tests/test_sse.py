"""SSE splitting: byte-faithful across any chunking, CRLF included."""

from __future__ import annotations

import pytest

from onegate.sse import SSESplitter

USAGE_CHUNK = (
    b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,'
    b'"prompt_tokens_details":{"cached_tokens":4}}}\n\n'
)


TEXT_CHUNK = b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}\n\n'


@pytest.mark.parametrize("size", [1, 2, 7, 64, 10_000])
def test_splitter_reassembles_events_across_any_chunking(size):
    stream = TEXT_CHUNK + b": keep-alive\n\n" + USAGE_CHUNK + b"data: [DONE]\n\n"
    splitter = SSESplitter()
    events = []
    for start in range(0, len(stream), size):
        events += splitter.feed(stream[start : start + size])
    assert b"".join(events) == stream
    assert events[0] == TEXT_CHUNK and events[-1] == b"data: [DONE]\n\n"
    assert splitter.rest() == b""


def test_splitter_handles_crlf_and_keeps_partial_tail():
    splitter = SSESplitter()
    assert splitter.feed(b"data: a\r\n\r\ndata: b") == [b"data: a\r\n\r\n"]
    assert splitter.rest() == b"data: b"
