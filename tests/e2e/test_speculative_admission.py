"""Speculative admission on real Redis (a private `redis-server` behind a TCP proxy of this test's own that
holds Redis's replies): with wide, fresh headroom the upstream call starts while admission is on the way,
and the client waits for the longer of the two, not their sum; no byte reaches the client before admission
answers; a refusal or an unreachable Redis cancels the upstream call, answers in the dialect, charges nothing
and is on record; narrow headroom waits for admission first."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.conftest import UPSTREAM_SECRET, channel_config, open_raw_post
from tests.e2e.test_billing import chat, ledger_rows, settled, team_key, wait_for
from tests.services import PrivateRedis, private_redis

MODEL = "gpt-4.1-mini"
DELAY = 0.4  # each of Redis's replies, and the upstream's answer: sum 0.8 s, max 0.4 s


class SlowRedis:
    """A TCP proxy in front of Redis that holds each reply `delay` seconds, or drops replies while `mute`
    (Redis unreachable to the client, connections open). Notes when each admission reply went on."""

    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self.delay = 0.0
        self.mute = False
        self.admissions: list[float] = []  # monotonic time each admit.lua reply was passed on
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.redis_port))
            except OSError:  # Redis stopped (the test is ending)
                client.close()
                continue
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if replies:
                    if self.mute:
                        continue
                    if self.delay:
                        time.sleep(self.delay)
                    # admit.lua's reply, admitted (5 fields) or refused, maybe behind others in the chunk
                    if b"*5\r\n:1\r\n" in data or b"*3\r\n:0\r\n" in data:
                        self.admissions.append(time.monotonic())
                sink.sendall(data)

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def redis_server(tmp_path) -> Iterator[PrivateRedis]:
    with private_redis(tmp_path) as server:
        yield server


@pytest.fixture
def slow_redis(redis_server) -> Iterator[SlowRedis]:
    proxy = SlowRedis(redis_server.port)
    yield proxy
    proxy.close()


@pytest.fixture
def gw(slow_redis, upstream, start_gateway, monkeypatch):  # the gateway stops first
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    config = channel_config(upstream) | {
        "redis_url": slow_redis.url,
        "redis_timeout": 1.0,  # above the proxy's delay: a held reply is slow, not lost
        "accounting": {"speculation_fresh_seconds": 60},  # the warm-up's headroom stays fresh for the test
    }
    return start_gateway(config)


def _arrival(upstream, count: int) -> list[float]:
    """Watch for the upstream's `count`-th request; [monotonic time it arrived] once it has."""
    seen: list[float] = []

    def watch() -> None:
        deadline = time.monotonic() + 10
        while len(upstream.requests) < count and time.monotonic() < deadline:
            time.sleep(0.002)
        if len(upstream.requests) >= count:
            seen.append(time.monotonic())

    threading.Thread(target=watch, daemon=True).start()
    return seen


def _warm(gw, key: str, upstream) -> dict:
    """One request, so this instance knows the headroom admission left; then everything settled. Its row."""
    answered = chat(gw, key, model=MODEL)
    assert answered.status == 200
    settled(gw, 1)
    upstream.requests.clear()
    return gw.log(answered.headers["x-request-id"])


def _redis_cli(redis: PrivateRedis, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(redis.port), *args], capture_output=True, text=True,
                          check=True, timeout=10).stdout.strip()  # fmt: skip


def _slow_chat(gw, upstream, slow_redis, key: str) -> tuple[Any, float, list[float], float]:
    """One chat after a warm-up, with Redis replies and the upstream's answer both `DELAY` late: the answer,
    how long it took, when the upstream got the call, and when admission answered."""
    _warm(gw, key, upstream)
    slow_redis.delay = upstream.delay_before_headers = DELAY
    arrived = _arrival(upstream, 1)
    started = time.monotonic()
    answered = chat(gw, key, model=MODEL)
    took = time.monotonic() - started
    assert answered.status == 200, answered.body
    admitted = [t for t in slow_redis.admissions if t > started][0]
    return answered, took, arrived, admitted


def test_with_wide_headroom_the_upstream_call_starts_before_admission_answers(gw, upstream, slow_redis):
    answered, took, arrived, admitted = _slow_chat(gw, upstream, slow_redis, team_key(gw, topup=10**12))
    assert arrived and arrived[0] < admitted, "the upstream call waited for admission"
    assert took < 2 * DELAY - 0.1, f"{took:.2f} s: admission and upstream added up"
    row = gw.log(answered.headers["x-request-id"])
    timings = orjson.loads(row["timings"])
    assert timings["admit_async"] >= DELAY * 1000 * 0.9  # the round trip, alongside the upstream call
    assert timings["admit"] < DELAY * 1000 / 2  # the phase before the upstream call did not include it
    slow_redis.delay = upstream.delay_before_headers = 0
    settled(gw, 2)
    assert len(ledger_rows(gw)) == 2  # both charged, once each


def test_narrow_headroom_waits_for_admission_before_calling_upstream(gw, upstream, slow_redis):
    key = team_key(gw, topup=10**12, rpm=30)  # after the warm-up, room for 28 more: under the margin of 50
    answered, took, arrived, admitted = _slow_chat(gw, upstream, slow_redis, key)
    assert arrived and arrived[0] > admitted
    assert took >= 2 * DELAY
    assert "admit_async" not in orjson.loads(gw.log(answered.headers["x-request-id"])["timings"])


@pytest.mark.parametrize("used_up", ["balance", "concurrency"])
def test_a_refusal_while_speculating_cancels_the_upstream_call_and_charges_nothing(
    gw, upstream, slow_redis, redis_server, used_up
):
    key = team_key(gw, topup=10**12, concurrent=100)
    warm = _warm(gw, key, upstream)
    team = f"{gw.gateway.settings.redis_prefix}{{t{warm['team_id']}}}:"  # counters/redis.py names
    if used_up == "balance":  # another instance spent it all meanwhile (the database has not heard yet)
        _redis_cli(redis_server, "HSET", team + "bal", "b", "0")
    else:  # 100 requests of this key in flight elsewhere
        members = [arg for i in range(100) for arg in (str(time.time() + 600), f"elsewhere{i}")]
        _redis_cli(redis_server, "ZADD", f"{team}k{warm['key_id']}:slots", *members)
    slow_redis.delay = DELAY
    upstream.hang_next()  # still thinking when the refusal comes
    arrived = _arrival(upstream, 1)
    refused = chat(gw, key, model=MODEL)
    assert arrived, "the upstream call was not started before admission answered"
    if used_up == "balance":
        assert refused.status == 402 and refused.json()["error"]["code"] == "insufficient_quota"
    else:
        assert refused.status == 429 and refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert upstream.wait_for_disconnects(1), "the upstream call was not cancelled"
    row = gw.log(refused.headers["x-request-id"])
    assert row["status"] == refused.status and row["cost_micros"] == 0
    assert "cancelled: admission did not let it through" in row["attempts"]
    slow_redis.delay = 0
    settled(gw, 2)
    assert len(ledger_rows(gw)) == 1  # the warm-up's charge only


def test_redis_unreachable_while_speculating_answers_503_and_cancels_the_upstream_call(gw, upstream, slow_redis):
    key = team_key(gw, topup=10**12)
    _warm(gw, key, upstream)
    slow_redis.mute = True
    upstream.hang_next()
    arrived = _arrival(upstream, 1)
    refused = chat(gw, key, model=MODEL)
    assert arrived, "the upstream call was not started before admission answered"
    assert refused.status == 503 and refused.json()["error"]["code"] == "accounting_unavailable"
    assert upstream.wait_for_disconnects(1), "the upstream call was not cancelled"
    row = gw.log(refused.headers["x-request-id"])
    assert row["status"] == 503 and row["cost_micros"] == 0
    slow_redis.mute = False
    wait_for(lambda: chat(gw, key, model=MODEL).status == 200, timeout=10)


def test_a_stream_sends_no_byte_before_admission_answers(gw, upstream, slow_redis):
    key = team_key(gw, topup=10**12)
    _warm(gw, key, upstream)
    slow_redis.delay = DELAY
    arrived = _arrival(upstream, 1)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    started = time.monotonic()
    sock = open_raw_post(gw.root, "/api/v1/chat/completions", body, key)
    sock.settimeout(10)
    first = sock.recv(65536)
    first_at = time.monotonic()
    received = first
    with contextlib.suppress(OSError):
        while not received.endswith(b"0\r\n\r\n") and (chunk := sock.recv(65536)):
            received += chunk
    sock.close()
    admitted = [t for t in slow_redis.admissions if t > started][0]
    assert arrived and arrived[0] < admitted, "the upstream call waited for admission"
    assert first.startswith(b"HTTP/1.1 200") and first_at >= admitted
    assert b"data: [DONE]" in received


def test_an_output_capped_at_admission_is_sent_again_with_the_lower_limit(gw, upstream, slow_redis, redis_server):
    key = team_key(gw, topup=10**12)
    warm = _warm(gw, key, upstream)
    # another instance spent nearly all of it meanwhile: 500 micro-units pay a few hundred output tokens
    _redis_cli(redis_server, "HSET", f"{gw.gateway.settings.redis_prefix}{{t{warm['team_id']}}}:bal", "b", "500")
    slow_redis.delay = DELAY
    answered = chat(gw, key, model=MODEL, max_tokens=100_000)
    assert answered.status == 200, answered.body
    sent = [r.json.get("max_tokens") or r.json.get("max_completion_tokens") for r in upstream.requests]
    assert len(sent) == 2 and sent[0] == 100_000 and sent[1] < 1000, sent  # the first one went before admission
    row = gw.log(answered.headers["x-request-id"])
    assert "output capped at" in row["notes"] and "admission lowered its output limit" in row["notes"]
    assert 0 < row["cost_micros"] <= 500
    slow_redis.delay = 0
    settled(gw, 2)
    assert len(ledger_rows(gw)) == 2  # the warm-up's and this one's, once
