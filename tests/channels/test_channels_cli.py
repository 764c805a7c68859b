"""`onegate channels` from another process: list (snapshot or Redis), test, enable and disable."""

from __future__ import annotations

import subprocess
import sys
import time

import orjson

from tests.channels.conftest import MESSAGES, MODEL, REDIS_URL, tiered_config


def onegate(gw, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "onegate.cli.main", "channels", *args]
    command += ["--data-dir", str(gw.data_dir), "--config", str(gw.config_path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _open_a(gw, vendors) -> None:
    vendors[0].fail_next(500, {"error": {"message": "vendor on fire"}})
    gw.client().chat.completions.create(model=MODEL, messages=MESSAGES)
    for _ in range(3):
        gw.client().chat.completions.create(model=MODEL, messages=MESSAGES)


def _config(vendors, **routing):
    return tiered_config(vendors, {"breaker": {"min_failures": 1, "open_seconds": 60}, **routing})


def test_list_shows_state_success_rate_and_latency_from_the_servers_snapshot(start_gateway, vendors):
    gw = start_gateway(_config(vendors))
    _open_a(gw, vendors)
    time.sleep(0.15)  # a snapshot tick (sync_seconds is 0.05)
    result = onegate(gw, "list")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert lines["a"].split()[3] == "open" and "vendor on fire" in lines["a"]
    assert lines["b"].split()[3] == "healthy" and "100% of 4" in lines["b"] and " ms" in lines["b"]
    assert lines["c"].split()[3] == "healthy" and lines["c"].split()[1] == "2"  # tier
    rows = orjson.loads(onegate(gw, "list", "--json").stdout)["channels"]
    assert [(r["name"], r["state"]) for r in rows] == [("a", "open"), ("b", "healthy"), ("c", "healthy")]


def test_test_reports_each_channel_and_fails_when_one_is_broken(start_gateway, vendors):
    gw = start_gateway(_config(vendors))
    vendors[1].refuse_connections()
    vendors[2].fail_next(401, {"error": {"message": "Incorrect API key provided"}})
    result = onegate(gw, "test")
    assert result.returncode == 1
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert lines["a"].split()[1:3] == ["ok", "200"]
    assert "FAILED" in lines["b"] and "cannot connect" in lines["b"]
    assert lines["c"].split()[1:3] == ["FAILED", "401"] and "Incorrect API key" in lines["c"]
    assert vendors[0].requests[-1].json == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": 1,
    }
    one = onegate(gw, "test", "a")
    assert one.returncode == 0 and len(one.stdout.splitlines()) == 2
    assert onegate(gw, "test", "zzz").returncode == 2


def test_enable_by_hand_reaches_the_running_server(start_gateway, vendors):
    gw = start_gateway(_config(vendors))
    _open_a(gw, vendors)
    assert onegate(gw, "enable", "a").returncode == 0
    deadline = time.monotonic() + 3
    while gw.gateway.channels.state("a", time.time()) != "healthy" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gw.gateway.channels.state("a", time.time()) == "healthy"


def test_with_redis_list_and_disable_work_on_the_shared_state(start_gateway, vendors, redis_prefix):
    gw = start_gateway(_config(vendors, redis_prefix=redis_prefix) | {"redis_url": REDIS_URL})
    _open_a(gw, vendors)
    listed = onegate(gw, "list")
    assert "shared state in Redis" in listed.stderr
    assert {line.split()[0]: line.split()[3] for line in listed.stdout.splitlines()[1:]} == {
        "a": "open",
        "b": "healthy",
        "c": "healthy",
    }
    assert onegate(gw, "disable", "b", "--reason", "key rotation").returncode == 0
    deadline = time.monotonic() + 3
    while gw.gateway.channels.state("b", time.time()) != "disabled" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gw.gateway.channels.marks("b").disabled == "by hand: key rotation"
