"""Attack: one key holder opens a channel's breaker for everyone with data onegate cannot re-encode.

A Responses body whose `metadata` is nested 300 deep parsed, reached a Chat upstream (which never sees
`metadata`) and was answered 200; then echoing `metadata` back in the Responses answer made the JSON
encoder give up. Reported as the upstream's unreadable answer, twenty such requests opened the channel's
breaker and every other key got 503s. The caller's own data is the caller's fault: a 400 for them, and the
channel stays healthy for everyone else.

Two defences: the decoder refuses JSON nested deeper than 64 levels before any channel is involved (the
HTTP test below), and, behind it, a translation or re-encoding failure of the caller's own fields is a 400
`untranslatable_request` that keeps the upstream's usage and never marks the channel (the pure test, which
bypasses the decoder's limit).
"""

from __future__ import annotations

import time

import orjson
import pytest

from tests.conftest import channel, raw_request

DEEP = b'{"a":' * 300 + b"1" + b"}" * 300  # orjson reads it; no JSON encoder writes it back (limit 255)


def _deep(path: str, model: str, stream: bool) -> bytes:
    if path == "/responses":
        head = {"model": model, "input": "hi", "stream": stream}
    else:
        head = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    return orjson.dumps(head)[:-1] + b',"metadata":' + DEEP + b"}"


# (path, model, stream): translated (the upstream answers first), and pass-through (refused before sending)
CASES = [
    ("/responses", "gpt-4.1-mini", False),
    ("/responses", "gpt-4.1-mini", True),
    ("/responses", "gpt-resp", False),
    ("/chat/completions", "gpt-4.1-mini", False),
]


@pytest.fixture
def gateway(start_gateway, upstream):
    channels = [
        channel("oai", upstream, ["gpt-4.1-mini"]),
        channel("oai-resp", upstream, ["gpt-resp"], responses_api=True),
    ]
    # the default breaker: 5 failures at 50% in a minute open it
    return start_gateway({"channels": channels, "routing": {"sync_seconds": 0.05}})


def test_twenty_undeliverable_requests_from_one_key_are_400s_and_never_open_the_breaker(gateway, upstream):
    key_b = gateway.create_key("b")
    as_a = {"authorization": f"Bearer {gateway.key}", "content-type": "application/json"}
    as_b = {"authorization": f"Bearer {key_b}"}
    served_b = 0
    for i in range(20):
        path, model, stream = CASES[i % len(CASES)]
        answered_before = len(upstream.requests)
        response = raw_request("POST", gateway.base_url + path, _deep(path, model, stream), as_a)
        assert response.status == 400, response.body
        error = response.json()["error"]
        assert error["code"] == "invalid_request" and error["type"] == "invalid_request_error"
        assert "nested deeper than" in error["message"]
        assert len(upstream.requests) == answered_before  # refused as it was read: no channel involved
        row = gateway.log(response.headers["x-request-id"])
        assert row["status"] == 400 and row["error_code"] == "invalid_request" and row["channel"] is None

        for b_path, b_model in (("/responses", "gpt-4.1-mini"), ("/responses", "gpt-resp")):
            ok = raw_request("POST", gateway.base_url + b_path, {"model": b_model, "input": "hi"}, as_b)
            assert ok.status == 200, ok.body
            served_b += 1
    assert served_b == 40
    book, now = gateway.gateway.channels, time.time()
    assert book.state("oai", now) == "healthy" and book.state("oai-resp", now) == "healthy"
    assert book.marks("oai").opens == 0 and book.marks("oai").last_error is None


def test_whose_fault_follows_the_data_not_the_moment():
    """Pure: encoding the caller's fields is the caller's fault; decoding the upstream's bytes is the upstream's
    (stands whatever limits the decoders in front of it apply)."""
    from onegate.dialects.pairs import CallerDataError, plan_exchange
    from onegate.errors import GatewayError

    deep: dict = {"a": 1}
    for _ in range(300):
        deep = {"a": deep}
    body = {"model": "m", "input": "hi", "metadata": deep}
    plan = plan_exchange("openai_responses", "openai_chat", body, "m", False, 0)
    answer = {
        "id": "c1",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
    with pytest.raises(CallerDataError) as caller:
        plan.translate_body(orjson.dumps(answer))
    assert caller.value.usage is not None and caller.value.usage.output_tokens == 1
    assert caller.value.error().status == 400
    with pytest.raises(orjson.JSONDecodeError):  # the upstream's garbage stays the upstream's
        plan.translate_body(b"<html>502</html>")
    with pytest.raises(GatewayError) as refused:  # pass-through: refused while planning, nothing sent
        plan_exchange("openai_chat", "openai_chat", {"model": "m", "messages": [], "metadata": deep}, "m", False, 0)
    assert refused.value.kind.code == "untranslatable_request"
