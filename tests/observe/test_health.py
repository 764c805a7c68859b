"""`/healthz` says the process is alive; `/readyz` says whether it can serve: database, Redis, writer, channels."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import UPSTREAM_SECRET, channel_config, raw_request, require_service
from tests.observe.scrape import post_chat, scrape, value

MESSAGES = [{"role": "user", "content": "hello there"}]


def readyz(root: str, after_cache: bool = True) -> tuple[int, dict[str, Any]]:
    if after_cache:
        time.sleep(1.05)  # the result is cached for a second
    response = raw_request("GET", root + "/readyz")
    return response.status, response.json()


def test_a_fresh_gateway_is_alive_and_ready(start_gateway):
    gw = start_gateway()
    assert raw_request("GET", gw.root + "/healthz").status == 200
    status, body = readyz(gw.root, after_cache=False)
    assert status == 200 and body["status"] == "ready"
    assert set(body["checks"]) == {"database", "writer", "channels"}  # no Redis configured, no Redis check
    assert all(check["ok"] for check in body["checks"].values())


def test_not_ready_while_the_database_is_unreachable(start_gateway, tmp_path):
    database = tmp_path / "db"
    gw = start_gateway({"database_url": f"sqlite:///{database / 'onegate.db'}"})
    assert readyz(gw.root, after_cache=False)[0] == 200
    database.rename(tmp_path / "db-gone")  # the file's directory is gone: no new connection can open it
    try:
        status, body = readyz(gw.root)
        assert status == 503 and body["status"] == "not ready"
        assert body["checks"]["database"]["ok"] is False and body["checks"]["database"]["detail"] == "OperationalError"
        assert raw_request("GET", gw.root + "/healthz").status == 200  # alive all the same
    finally:
        (tmp_path / "db-gone").rename(database)
    assert readyz(gw.root)[0] == 200


def test_the_check_is_cached_so_probes_do_not_hammer_the_database(start_gateway):
    gw = start_gateway()
    first = readyz(gw.root, after_cache=False)[1]["checks"]["database"]["ms"]
    # every probe within the second gets the same result, not a new connection
    assert {readyz(gw.root, after_cache=False)[1]["checks"]["database"]["ms"] for _ in range(20)} == {first}


def test_not_ready_when_every_channel_is_open(start_gateway, upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    config = channel_config(upstream)
    config["routing"] = {"max_attempts": 1, "breaker": {"min_failures": 1, "failure_ratio": 0.5}}
    config["metrics"] = {"enabled": True}
    gw = start_gateway(config)
    assert readyz(gw.root, after_cache=False)[0] == 200
    upstream.fail_next(500, {"error": {"message": "boom", "type": "server_error"}})
    response = post_chat(gw)
    assert response.status == 500
    status, body = readyz(gw.root)
    assert status == 503 and body["checks"]["channels"] == {
        "ok": False,
        "ms": 0.0,
        "detail": "every channel is open or disabled",
    }
    samples = scrape(gw)
    assert value(samples, "onegate_channel_breaker_state", channel="fake") == 2
    assert value(samples, "onegate_ready_check", check="channels") == 0


def test_not_ready_when_the_log_writer_stopped(start_gateway):
    gw = start_gateway()
    gw.gateway.writer.close()
    status, body = readyz(gw.root)
    assert status == 503 and body["checks"]["writer"]["detail"] == "the log writer is not running"


def test_redis_is_checked_when_configured(start_gateway, monkeypatch):
    require_service("Redis", "127.0.0.1", 6379)
    gw = start_gateway(
        {"redis_url": "redis://127.0.0.1:6379/0", "routing": {"redis_prefix": f"og-ready-{time.time_ns()}:"}}
    )
    status, body = readyz(gw.root, after_cache=False)
    assert status == 200 and body["checks"]["redis"]["ok"] is True
