"""Circuit breakers, cool-downs, disabling and re-enabling, concurrency caps: seen through real requests."""

from __future__ import annotations

import logging
import threading
import time

import openai
import pytest

from onegate.channels.snapshot import queue_command
from onegate.channels.state import Window
from tests.channels.conftest import MESSAGES, MODEL, attempts, tiered_config
from tests.conftest import raw_request

BOOM = {"error": {"message": "boom", "type": "server_error"}}
BREAKER = {
    "window_seconds": 10,
    "min_failures": 3,
    "failure_ratio": 0.5,
    "open_seconds": 0.4,
    "max_open_seconds": 5,
    "disable_after_opens": 3,
}


def _config(vendors, **routing):
    return tiered_config(vendors, {"breaker": BREAKER | routing.pop("breaker", {}), **routing})


def _ask(gw):
    raw = gw.client().chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    raw.parse()
    return attempts(gw, raw.headers["x-request-id"])


def _state(gw, channel: str) -> str:
    return gw.gateway.channels.state(channel, time.time())


def _wait_for(predicate, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_breaker_opens_after_sustained_failures_then_a_half_open_probe_closes_it(start_gateway, vendors):
    a, b, _ = vendors
    gw = start_gateway(_config(vendors))
    a.fail_next(500, BOOM, times=3)
    for _ in range(3):
        assert _ask(gw) == [("a", 500), ("b", 200)]
    assert _state(gw, "a") == "open"
    assert _ask(gw) == [("b", 200)]  # open: a gets no traffic at all
    assert len(a.requests) == 3
    time.sleep(0.45)
    assert _state(gw, "a") == "half_open"
    assert _ask(gw) == [("a", 200)]  # the probe: a has recovered
    assert _state(gw, "a") == "healthy"


def test_a_single_error_never_opens_the_breaker(start_gateway, vendors):
    a, _, _ = vendors
    gw = start_gateway(_config(vendors))
    a.fail_next(500, BOOM)
    assert _ask(gw) == [("a", 500), ("b", 200)]
    assert _ask(gw) == [("a", 200)]
    assert _state(gw, "a") == "healthy"


def test_failures_below_the_ratio_keep_the_breaker_closed(start_gateway, vendors):
    a, _, _ = vendors
    gw = start_gateway(_config(vendors))
    for _ in range(4):
        _ask(gw)
    a.fail_next(500, BOOM, times=3)
    for _ in range(3):
        _ask(gw)
    assert _state(gw, "a") == "healthy"  # 3 failures of 7: under half
    a.fail_next(500, BOOM)
    _ask(gw)
    assert _state(gw, "a") == "open"  # 4 of 8: both the count and the ratio


def test_a_failed_probe_reopens_the_breaker_for_twice_as_long(start_gateway, vendors):
    a, _, _ = vendors
    gw = start_gateway(_config(vendors))
    a.fail_next(503, BOOM, times=4)
    for _ in range(3):
        _ask(gw)
    time.sleep(0.45)
    assert _ask(gw) == [("a", 503), ("b", 200)]
    marks = gw.gateway.channels.marks("a")
    assert marks.opens == 2 and 0.6 < marks.open_until - time.time() <= 0.8


def test_every_channel_open_is_a_503_all_channels_unavailable_with_retry_after(start_gateway, vendors):
    a = vendors[0]
    gw = start_gateway(_config(vendors[:1], breaker={"min_failures": 1, "open_seconds": 5}))
    a.fail_next(500, BOOM)
    headers = {"Authorization": f"Bearer {gw.key}"}
    body = {"model": MODEL, "messages": MESSAGES}
    assert raw_request("POST", gw.base_url + "/chat/completions", body, headers).status == 500
    response = raw_request("POST", gw.base_url + "/chat/completions", body, headers)
    assert response.status == 503
    error = response.json()["error"]
    assert error["code"] == "all_channels_unavailable" and "a: circuit open" in error["message"]
    assert 1 <= int(response.headers["retry-after"]) <= 5
    assert "x-should-retry" not in response.headers  # coming back later is exactly right
    assert len(a.requests) == 1
    unknown = raw_request("POST", gw.base_url + "/chat/completions", {**body, "model": "nope"}, headers)
    assert unknown.status == 404 and unknown.json()["error"]["code"] == "model_not_found"


def test_sustained_failure_disables_with_an_alert_and_a_background_probe_re_enables(start_gateway, vendors, caplog):
    caplog.set_level(logging.INFO, logger="onegate.channels")
    a, _, _ = vendors
    gw = start_gateway(
        _config(
            vendors,
            breaker={"min_failures": 1, "open_seconds": 0.2, "disable_after_opens": 2},
            recovery_probe_seconds=0.3,
        )
    )
    a.fail_next(500, BOOM, times=100)
    assert _ask(gw) == [("a", 500), ("b", 200)]  # opens
    time.sleep(0.25)
    assert _ask(gw) == [("a", 500), ("b", 200)]  # the probe fails: second open in a row → disabled
    assert _state(gw, "a") == "disabled"
    assert any("ALERT channel a disabled" in r.getMessage() for r in caplog.records)
    assert _ask(gw) == [("b", 200)]
    a.reset()  # the vendor recovers
    assert _wait_for(lambda: _state(gw, "a") == "healthy"), "no probe re-enabled the channel"
    assert a.requests[-1].json["max_tokens"] == 1  # it was the minimal probe request
    assert any("re-enabled: a probe succeeded" in r.getMessage() for r in caplog.records)
    assert _ask(gw) == [("a", 200)]


def test_disabled_by_hand_stays_disabled_until_enabled_by_hand(start_gateway, vendors):
    a, _, _ = vendors
    gw = start_gateway(_config(vendors, recovery_probe_seconds=0.1))
    queue_command(gw.data_dir, "disable", "a", "maintenance")
    assert _wait_for(lambda: _state(gw, "a") == "disabled")
    assert gw.gateway.channels.marks("a").disabled == "by hand: maintenance"
    time.sleep(0.3)
    assert a.requests == []  # no probe overrides a person's decision
    assert _ask(gw) == [("b", 200)]
    queue_command(gw.data_dir, "enable", "a")
    assert _wait_for(lambda: _state(gw, "a") == "healthy")
    assert _ask(gw) == [("a", 200)]


def test_a_restart_keeps_a_disabled_channel_disabled(start_gateway, vendors):
    config = _config(vendors)
    gw = start_gateway(config)
    queue_command(gw.data_dir, "disable", "a")
    assert _wait_for(lambda: _state(gw, "a") == "disabled")
    time.sleep(0.1)  # a snapshot tick
    again = start_gateway(config, data_dir=gw.data_dir)
    assert _wait_for(lambda: _state(again, "a") == "disabled")


def test_a_channel_at_its_concurrency_cap_passes_requests_to_the_next(start_gateway, vendors):
    a, b, _ = vendors
    config = _config(vendors)
    config["channels"][0]["max_concurrency"] = 1
    gw = start_gateway(config)
    release = threading.Event()
    a.hold_after_first_chunk = release
    stream = gw.client().chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    next(iter(stream))  # a's only slot is taken while it holds the rest of its answer
    assert _ask(gw) == [("b", 200)]
    release.set()
    list(stream)
    assert _ask(gw) == [("a", 200)]


def test_open_channel_states_are_in_the_error_for_each_channel(start_gateway, vendors):
    gw = start_gateway(_config(vendors[:2], breaker={"min_failures": 1, "open_seconds": 30}))
    for fake in vendors[:2]:
        fake.fail_next(503, BOOM)
    with pytest.raises(openai.InternalServerError):
        gw.client().chat.completions.create(model=MODEL, messages=MESSAGES)
    with pytest.raises(openai.InternalServerError) as info:
        gw.client().chat.completions.create(model=MODEL, messages=MESSAGES)
    assert info.value.code == "all_channels_unavailable"
    assert "a: circuit open" in info.value.message and "b: circuit open" in info.value.message


def test_periodic_probes_keep_health_fresh_without_traffic(start_gateway, vendors):
    a, b, _ = vendors
    b.fail_next(503, BOOM, times=100)
    gw = start_gateway(_config(vendors, probe_seconds=0.1, breaker={"min_failures": 2}))
    book = gw.gateway.channels

    def windows():
        return {n: book.store._windows[n].total(time.time()) for n in ("a", "b") if n in book.store._windows}

    assert _wait_for(lambda: windows().get("a", Window()).successes >= 2)
    assert _wait_for(lambda: _state(gw, "b") == "open"), "failing probes did not open b's breaker"
    assert all(r.json["max_tokens"] == 1 for r in a.requests)  # only probes: no request was ever sent
