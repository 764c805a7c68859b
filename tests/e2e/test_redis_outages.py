"""Money through Redis trouble, on a private `redis-server` the test freezes (SIGSTOP) and restarts empty:
a frozen Redis answers 503 within the timeout instead of holding requests, recovery needs nothing, no
charge is lost or doubled, budgets hold across a restart, and the log gets one line per outage."""

from __future__ import annotations

import logging
import time

import pytest

from onegate.counters.pubsub import publish_change
from onegate.store.teams import get_team
from tests.e2e.test_billing import PRICED, chat, ledger_rows, logged_cost, settled, team_key, wait_for
from tests.records import ledger_total
from tests.services import PrivateRedis, private_redis


@pytest.fixture
def redis_server(tmp_path) -> PrivateRedis:
    with private_redis(tmp_path) as server:
        yield server


def _config(redis: PrivateRedis, **extra) -> dict:
    return {**PRICED, "redis_url": redis.url, "redis_timeout": 0.25, **extra}


def _team_key(gw, redis: PrivateRedis, topup: int, **options) -> str:
    """A key of a new team, announced to the running gateway the way the CLI does (pub/sub)."""
    key = team_key(gw, topup=topup, **options)
    publish_change(redis.url, gw.gateway.settings.redis_prefix, "teams")
    wait_for(lambda: (team := gw.gateway.directory.team(1)) is not None and team.balance_micros == topup)
    time.sleep(0.1)  # the balance is handed to Redis right after
    return key


def test_a_frozen_redis_answers_503_within_the_timeout_then_recovers_with_nothing_lost(redis_server, start_gateway):
    gw = start_gateway(_config(redis_server))
    key = _team_key(gw, redis_server, 10_000_000)
    assert chat(gw, key).status == 200
    redis_server.freeze()
    try:
        for _ in range(5):
            started = time.monotonic()
            refused = chat(gw, key)
            took = time.monotonic() - started
            assert refused.status == 503 and refused.json()["error"]["code"] == "accounting_unavailable"
            assert took < 1.0, f"a frozen Redis held the request {took:.2f} s"
    finally:
        redis_server.thaw()
    wait_for(lambda: chat(gw, key).status == 200, timeout=5)
    served = 2 + sum(chat(gw, key).status == 200 for _ in range(3))
    assert served == 5
    settled(gw, 10)
    # ledger = request log = balance change; one charge per served request, none for the refused
    balance = get_team(gw.gateway.engine, "acme").balance_micros
    assert -ledger_total(gw.gateway.engine) == logged_cost(gw) == 10_000_000 - balance
    assert len(ledger_rows(gw)) == served


def test_a_redis_outage_is_one_warning_when_it_goes_and_one_line_when_it_is_back(redis_server, start_gateway, caplog):
    caplog.set_level(logging.DEBUG, logger="onegate")
    gw = start_gateway(_config(redis_server))
    key = _team_key(gw, redis_server, 10_000_000)
    assert chat(gw, key).status == 200
    caplog.clear()
    redis_server.freeze()
    try:
        assert [chat(gw, key).status for _ in range(6)] == [503] * 6
    finally:
        redis_server.thaw()
    wait_for(lambda: chat(gw, key).status == 200, timeout=5)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "Redis" in r.getMessage()]
    counters_lines = [line for line in lines if f":{redis_server.port}" in line]  # counters, pub/sub, breakers
    assert len([line for line in counters_lines if "unavailable" in line]) == 1, counters_lines
    assert len([line for line in counters_lines if "is back" in line]) == 1, counters_lines


def test_a_key_budget_holds_across_a_redis_restart(redis_server, start_gateway, caplog):
    """Redis restarted empty: the key's spend so far is reloaded from the database before the next admission,
    not counted from zero."""
    gw = start_gateway(_config(redis_server))
    key = _team_key(gw, redis_server, 10_000_000, budget_micros=100_000, budget_period="daily")
    first = chat(gw, key)
    assert first.status == 200
    cost = gw.log(first.headers["x-request-id"])["cost_micros"]
    spent = cost
    while chat(gw, key).status == 200:  # spend most of the budget
        spent += cost
    settled(gw, spent // cost + 1)
    redis_server.restart()
    statuses = [chat(gw, key).status for _ in range(6)]
    assert 200 not in statuses[1:], statuses  # at most one request slipped in while reloading
    assert 402 in statuses
    settled(gw, spent // cost + 7)
    total = -ledger_total(gw.gateway.engine)
    assert total <= 100_000 + cost
    # the counters' client and the pub/sub listener both lost Redis: still one line for the outage
    went = [r for r in caplog.records if f":{redis_server.port} is unavailable" in r.getMessage()]
    assert len(went) <= 1, [r.getMessage() for r in went]


def test_a_team_balance_holds_across_a_redis_restart(redis_server, start_gateway):
    gw = start_gateway(_config(redis_server))
    key = _team_key(gw, redis_server, 100_000)
    first = chat(gw, key)
    assert first.status == 200
    cost = gw.log(first.headers["x-request-id"])["cost_micros"]
    served = 1
    while chat(gw, key).status == 200:
        served += 1
    settled(gw, served + 1)
    redis_server.restart()
    statuses = [chat(gw, key).status for _ in range(6)]
    assert 200 not in statuses[1:] and 402 in statuses, statuses
    settled(gw, served + 7)
    assert get_team(gw.gateway.engine, "acme").balance_micros >= -cost
