"""The Chat stream relay: the usage chunk read on the way, forwarded only when the client asked for it."""

from __future__ import annotations

from onegate.dialects.openai_chat.stream import ChatStreamRelay

USAGE_CHUNK = (
    b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,'
    b'"prompt_tokens_details":{"cached_tokens":4}}}\n\n'
)


TEXT_CHUNK = b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}\n\n'


def test_relay_drops_usage_chunk_the_client_did_not_ask_for_but_reads_it():
    relay = ChatStreamRelay(client_wants_usage=False)
    assert relay.feed(TEXT_CHUNK) == TEXT_CHUNK
    assert relay.feed(USAGE_CHUNK) is None
    assert relay.feed(b"data: [DONE]\n\n") == b"data: [DONE]\n\n"
    assert relay.done
    assert (relay.usage.input_tokens, relay.usage.cached_tokens, relay.usage.output_tokens) == (9, 4, 3)


def test_relay_keeps_usage_chunk_when_asked():
    relay = ChatStreamRelay(client_wants_usage=True)
    assert relay.feed(USAGE_CHUNK) == USAGE_CHUNK
    assert relay.usage.output_tokens == 3


def test_relay_passes_non_json_events_untouched():
    relay = ChatStreamRelay(client_wants_usage=False)
    odd = b'data: {"usage": broken\n\n'
    assert relay.feed(odd) == odd and relay.usage is None
