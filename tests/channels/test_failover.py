"""Failover before the first byte, never after: what the client sees, which channels were tried, the log."""

from __future__ import annotations

import socket
import threading
import time

import openai
import orjson
import pytest

from tests.channels.conftest import FAST, MESSAGES, MODEL, attempts, tiered_config
from tests.conftest import open_raw_post, raw_request
from tests.fakes.openai_upstream import REPLY_TEXT

OVERLOADED = {"error": {"message": "overloaded", "type": "server_error", "code": None}}
CHAT = {"model": MODEL, "messages": MESSAGES}


def _chat(gw, **kwargs):
    return gw.client().chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES, **kwargs)


def test_refused_connection_fails_over_to_the_next_channel(routed, vendors):
    a, b, _ = vendors
    a.refuse_connections()
    raw = _chat(routed)
    assert raw.parse().choices[0].message.content == REPLY_TEXT
    assert attempts(routed, raw.headers["x-request-id"]) == [("a", None), ("b", 200)]
    row = routed.log(raw.headers["x-request-id"])
    assert row["channel"] == "b" and "cannot connect" in row["attempts"]


@pytest.mark.parametrize("status", [500, 502, 503, 529, 401, 403])
def test_channel_faults_fail_over_in_priority_order(routed, vendors, status):
    a, b, c = vendors
    a.fail_next(status, OVERLOADED)
    raw = _chat(routed)
    assert raw.http_response.status_code == 200
    assert attempts(routed, raw.headers["x-request-id"]) == [("a", status), ("b", 200)]
    assert (len(a.requests), len(b.requests), len(c.requests)) == (1, 1, 0)


def test_hang_before_headers_fails_over_at_the_first_byte_timeout_and_drops_the_hung_request(routed, vendors):
    a, b, _ = vendors
    a.hang_next()
    started = time.monotonic()
    raw = _chat(routed)
    assert 0.5 < time.monotonic() - started < 2.0  # first_byte is 0.6 s
    assert attempts(routed, raw.headers["x-request-id"]) == [("a", None), ("b", 200)]
    assert "timeout before the first byte" in routed.log(raw.headers["x-request-id"])["attempts"]
    assert a.wait_for_disconnects(1), "the hung upstream request was left running"


def test_429_fails_over_and_cools_the_channel_for_its_retry_after(routed, vendors):
    a, b, _ = vendors
    a.fail_next(429, {"error": {"message": "slow down", "type": "rate_limit_error"}}, {"retry-after": "30"})
    first = _chat(routed)
    assert attempts(routed, first.headers["x-request-id"]) == [("a", 429), ("b", 200)]
    second = _chat(routed)
    assert attempts(routed, second.headers["x-request-id"]) == [("b", 200)]  # a is cooling: not even tried
    assert len(a.requests) == 1
    book = routed.gateway.channels
    assert book.state("a", time.time()) == "cooling"
    assert 25 < book.marks("a").cool_until - time.time() <= 30


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_garbage_or_empty_answer_fails_over(routed, vendors, stream):
    a, b, _ = vendors
    a.garbage_next()
    raw = _chat(routed, stream=stream)
    body = raw.http_response.read()
    assert REPLY_TEXT.split()[0].encode() in body
    assert attempts(routed, raw.headers["x-request-id"]) == [("a", 200), ("b", 200)]
    a.fail_next(200, b"", {"content-type": "application/json"})
    raw = _chat(routed, stream=stream)
    raw.http_response.read()
    assert attempts(routed, raw.headers["x-request-id"]) == [("a", 200), ("b", 200)]


def test_error_event_before_any_output_fails_over(routed, vendors):
    a, b, _ = vendors
    error = b'data: {"error": {"message": "model overloaded", "type": "server_error"}}\n\n'
    a.fail_next(200, error, {"content-type": "text/event-stream"})
    raw = _chat(routed, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == REPLY_TEXT
    assert "model overloaded" in routed.log(raw.headers["x-request-id"])["attempts"]


def test_callers_own_4xx_is_never_failed_over(routed, vendors):
    a, b, _ = vendors
    a.fail_next(400, {"error": {"message": "max_tokens is too large", "type": "invalid_request_error"}})
    with pytest.raises(openai.BadRequestError) as info:
        _chat(routed)
    assert "max_tokens is too large" in info.value.message
    assert attempts(routed, info.value.response.headers["x-request-id"]) == [("a", 400)]
    assert len(b.requests) == 0
    assert routed.gateway.channels.state("a", time.time()) == "healthy"


def test_every_attempt_failed_gives_the_last_upstream_error_the_count_and_no_sdk_retry(routed, vendors):
    a, b, c = vendors
    a.fail_next(500, {"error": {"message": "boom", "type": "server_error"}})
    b.fail_next(503, OVERLOADED)
    c.refuse_connections()
    response = raw_request(
        "POST", routed.base_url + "/chat/completions", CHAT, {"Authorization": f"Bearer {routed.key}"}
    )
    assert response.status == 503  # b's answer: an upstream's own words beat c's refused connection
    error = response.json()["error"]
    assert "overloaded" in error["message"] and "3 attempts failed" in error["message"]
    assert response.headers["x-should-retry"] == "false"
    assert response.headers["x-onegate-attempts"] == "3"
    row = routed.log(response.headers["x-request-id"])
    assert attempts(routed, row["request_id"]) == [("a", 500), ("b", 503), ("c", None)]
    timeline = orjson.loads(row["attempts"])
    assert all(step["ms"] > 0 and step["error"] for step in timeline)
    assert row["status"] == 503 and row["cost_micros"] == 0 and row["output_tokens"] == 0


def test_attempts_stop_at_max_attempts(start_gateway, vendors):
    a, b, c = vendors
    gw = start_gateway(tiered_config(vendors, {"max_attempts": 2}))
    a.fail_next(500, OVERLOADED)
    b.fail_next(500, OVERLOADED)
    response = raw_request("POST", gw.base_url + "/chat/completions", CHAT, {"Authorization": f"Bearer {gw.key}"})
    assert response.status == 500 and response.headers["x-onegate-attempts"] == "2"
    assert len(c.requests) == 0


def test_a_single_failed_attempt_leaves_sdk_retries_alone(start_gateway, vendors):
    gw = start_gateway(tiered_config(vendors[:1]))
    vendors[0].fail_next(503, OVERLOADED)
    response = raw_request("POST", gw.base_url + "/chat/completions", CHAT, {"Authorization": f"Bearer {gw.key}"})
    assert response.status == 503 and response.headers["x-onegate-attempts"] == "1"
    assert "x-should-retry" not in response.headers  # nothing was retried for the caller yet


def test_stream_fails_over_before_the_first_byte_without_duplicating_output(routed, vendors):
    a, b, _ = vendors
    a.fail_next(503, OVERLOADED)
    raw = _chat(routed, stream=True)
    chunks = list(raw.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY_TEXT
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.role) == 1
    assert attempts(routed, raw.headers["x-request-id"]) == [("a", 503), ("b", 200)]


def test_only_the_attempt_that_answered_is_charged(start_gateway, vendors):
    a, b, _ = vendors
    gw = start_gateway(tiered_config(vendors, prices={MODEL: {"input": 1000, "output": 1000}}))
    a.fail_next(500, OVERLOADED)
    raw = _chat(gw)
    reply = raw.parse()
    row = gw.log(raw.headers["x-request-id"])
    assert (row["input_tokens"], row["output_tokens"]) == (reply.usage.prompt_tokens, reply.usage.completion_tokens)
    assert row["cost_micros"] == 1000 * (reply.usage.prompt_tokens + reply.usage.completion_tokens)


# After the first byte: never a retry -------------------------------------------------------------------


def test_connection_closed_mid_stream_ends_with_an_error_event_and_no_retry(routed, vendors):
    a, b, _ = vendors
    a.cut_stream_after, a.cut_stream_abort = 2, True
    raw = _chat(routed, stream=True)
    with pytest.raises(openai.APIError) as info:
        list(raw.parse())
    assert "failed after the stream started" in info.value.message
    assert len(b.requests) == 0
    assert attempts(routed, raw.headers["x-request-id"]) == [("a", 200)]
    window = routed.gateway.channels.store._windows["a"].total(time.time())
    assert window.failures == 1  # the breaker counts it, though nothing was retried


def test_hang_mid_stream_ends_at_the_idle_timeout_and_cancels_the_upstream(routed, vendors):
    a, b, _ = vendors
    a.hold_after_first_chunk = threading.Event()  # never set: the upstream goes silent
    started = time.monotonic()
    raw = _chat(routed, stream=True)
    body = raw.http_response.read()
    assert b": keep-alive" in body  # the client heard from us while the upstream was silent
    assert b"sent nothing for 0.6 s" in body
    assert time.monotonic() - started < 3
    assert a.wait_for_disconnects(1) and len(b.requests) == 0


def test_slow_drip_within_the_idle_timeout_completes(routed, vendors):
    a, _, _ = vendors
    a.chunk_delay = 0.08  # steady, under both the idle timeout and the keep-alive interval
    raw = _chat(routed, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == REPLY_TEXT
    assert attempts(routed, raw.headers["x-request-id"]) == [("a", 200)]


def test_slow_drip_past_the_total_deadline_ends_the_stream_with_an_error(start_gateway, vendors):
    a, b, _ = vendors
    gw = start_gateway(tiered_config(vendors, {"total_timeout": 1.0}))
    a.chunk_delay, a.stream_chunks = 0.3, 8
    raw = _chat(gw, stream=True)
    body = raw.http_response.read()
    assert b"total time limit" in body and len(b.requests) == 0


# Disconnects: the upstream is cancelled at once, on whichever attempt is running ----------------------


def _open_stream(gw) -> socket.socket:
    return open_raw_post(gw.root, "/api/v1/chat/completions", {**CHAT, "stream": True}, gw.key)


def _row_with_status(gw, status: int) -> dict:
    from onegate.store.logs import query_logs

    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        rows = query_logs(gw.gateway.engine, status=status)
        if rows:
            return rows[0]
        time.sleep(0.02)
    raise AssertionError(f"no {status} row")


def test_disconnect_during_the_second_attempts_stream_cancels_it_and_bills_what_was_produced(routed, vendors):
    a, b, _ = vendors
    a.fail_next(503, OVERLOADED)
    b.hold_after_first_chunk = threading.Event()
    sock = _open_stream(routed)
    received = b""
    while b"data: " not in received:
        received += sock.recv(65536)
    sock.close()
    assert b.wait_for_disconnects(1, timeout=2), "the upstream kept generating for a client that left"
    row = _row_with_status(routed, 499)
    timeline = orjson.loads(row["attempts"])
    assert [(s["channel"], s["status"], s["error"]) for s in timeline][1] == ("b", 200, "client disconnected")
    assert row["input_tokens"] > 0 and row["channel"] == "b"


def test_disconnect_while_waiting_for_headers_cancels_the_upstream_before_its_timeout(routed, vendors):
    a, b, _ = vendors
    a.fail_next(503, OVERLOADED)
    b.hang_next()
    sock = _open_stream(routed)
    deadline = time.monotonic() + 2
    while len(b.requests) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    closed = time.monotonic()
    sock.close()
    assert b.wait_for_disconnects(1, timeout=2)
    assert time.monotonic() - closed < 0.5  # well inside the 0.6 s first-byte timeout
    row = _row_with_status(routed, 499)
    assert attempts(routed, row["request_id"]) == [("a", 503), ("b", None)]
    assert row["output_tokens"] == 0


def test_an_error_after_content_in_the_same_chunk_is_mid_stream_however_the_bytes_arrive(routed, vendors):
    a, b, _ = vendors
    content = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}],
    }
    error = {"error": {"message": "overloaded midway", "type": "server_error"}}
    one_chunk = b"data: " + orjson.dumps(content) + b"\n\ndata: " + orjson.dumps(error) + b"\n\n"
    a.fail_next(200, one_chunk, {"content-type": "text/event-stream"})
    raw = _chat(routed, stream=True)
    body = raw.http_response.read()
    assert body.startswith(b"data: ") and b'"Hel"' in body and b"overloaded midway" in body
    assert len(b.requests) == 0  # the first event had been committed: no failover
    assert attempts(routed, raw.headers["x-request-id"]) == [("a", 200)]


# Any dialect: each attempt plans again for its channel's dialect and model name -----------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_failover_crosses_dialects_with_a_fresh_plan_per_attempt(start_gateway, vendors, anthropic_upstream, stream):
    from tests.conftest import anthropic_channel, channel
    from tests.fakes.anthropic_upstream import REPLY_TEXT as CLAUDE_TEXT

    claude = anthropic_channel(anthropic_upstream, models=[{"name": "smart", "upstream": "claude-sonnet-4-6"}])
    claude["timeouts"] = dict(FAST)
    backup = channel(
        "openai-backup", vendors[0], [{"name": "smart", "upstream": MODEL}], priority=1, timeouts=dict(FAST)
    )
    gw = start_gateway({"channels": [claude, backup]})
    anthropic_upstream.fail_next(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    client = gw.client()
    raw = client.chat.completions.with_raw_response.create(model="smart", messages=MESSAGES, stream=stream)
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    else:
        text = raw.parse().choices[0].message.content
    assert text == REPLY_TEXT and text != CLAUDE_TEXT
    assert anthropic_upstream.requests[-1].path == "/v1/messages"  # attempt 1: translated to Messages
    sent = vendors[0].requests[-1]
    assert sent.path == "/v1/chat/completions" and sent.json["model"] == MODEL  # attempt 2: pass-through
    assert sent.json["messages"] == MESSAGES and sent.json.get("stream", False) is stream
    assert attempts(gw, raw.headers["x-request-id"]) == [("claude", 529), ("openai-backup", 200)]
    assert gw.log(raw.headers["x-request-id"])["model_routed"] == MODEL
