"""Money and limits end to end on one instance (SQLite + in-memory counters): what is charged, what is
refused and how, and that the ledger and the request log agree to the micro-unit."""

from __future__ import annotations

import threading
import time

import openai
import orjson
import pytest
from sqlalchemy import select

from onegate.settings import PriceConfig
from onegate.store.keys import KeyOptions, create_key
from onegate.store.logs import query_logs
from onegate.store.prices import set_price
from onegate.store.schema import ledger, request_logs
from onegate.store.teams import change_balance, create_team, get_team
from tests.conftest import UPSTREAM_SECRET, channel_config, open_raw_post, raw_request
from tests.records import ledger_total

SELFTEST = "onegate-selftest"
HI = [{"role": "user", "content": "hi"}]
# 1000 currency units per 1M tokens = 1000 micro-units a token: selftest answers cost ~20_000
PRICED = {"prices": {SELFTEST: {"input": 1000, "output": 1000}}}


def team_key(gw, team: str = "acme", topup: int = 0, **options) -> str:
    engine = gw.gateway.engine
    created = create_team(engine, team, model_groups=options.pop("groups", None))
    if topup:
        change_balance(engine, team, "topup", topup, "test")
    return create_key(engine, f"{team}-key", options=KeyOptions(team_id=created.id, **options))[1]


def chat(gw, key: str, model: str = SELFTEST, **extra) -> object:
    body = {"model": model, "messages": HI, "max_tokens": 20, **extra}
    return raw_request(
        "POST",
        gw.base_url + "/chat/completions",
        body,
        {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )


def wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def ledger_rows(gw) -> list[dict]:
    with gw.gateway.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(ledger).where(ledger.c.kind == "charge"))]


def logged_cost(gw) -> int:
    with gw.gateway.engine.connect() as conn:
        return sum(r.cost_micros for r in conn.execute(select(request_logs.c.cost_micros)))


def settled(gw, count: int) -> None:
    """Wait until `count` log rows are written and no reservation is open."""
    wait_for(lambda: len(query_logs(gw.gateway.engine, limit=1000)) >= count and gw.gateway.reservations.open == 0)


def test_team_balance_runs_out_with_402_insufficient_quota_and_no_amounts(start_gateway):
    gw = start_gateway(PRICED)
    key = team_key(gw, topup=100_000)
    statuses = [chat(gw, key) for _ in range(5)]
    # the fourth fits only with a shorter answer: its output is capped to what the balance still pays
    assert [r.status for r in statuses] == [200, 200, 200, 200, 402]
    notes = gw.log(statuses[3].headers["x-request-id"])["notes"]
    assert "output capped at" in notes
    refused = statuses[4]
    error = refused.json()["error"]
    assert error["type"] == "insufficient_quota" and error["code"] == "insufficient_quota"
    assert refused.headers["x-should-retry"] == "false"
    assert "balance of team 'acme'" in error["message"] and not any(ch.isdigit() for ch in error["message"])
    settled(gw, 5)
    team = get_team(gw.gateway.engine, "acme")
    assert team.balance_micros >= 0
    assert -ledger_total(gw.gateway.engine) == logged_cost(gw) == 100_000 - team.balance_micros
    assert len(ledger_rows(gw)) == 4


def test_a_top_up_the_counters_have_not_heard_of_yet_is_not_a_402(start_gateway):
    # A top-up made elsewhere (another instance, the CLI on the database) reaches the counters by a Redis
    # notice or the next poll; a request in between must not be refused on the stale balance.
    gw = start_gateway(PRICED)
    key = team_key(gw)
    assert chat(gw, key).status == 402  # the empty team is now in this instance's directory and counters
    change_balance(gw.gateway.engine, "acme", "topup", 1_000_000, "test")  # no notice, the poll not due
    answered = chat(gw, key)
    assert answered.status == 200, answered.body
    settled(gw, 2)
    assert len(ledger_rows(gw)) == 1  # the answered request charged once, the refused one never


def test_key_budget_402_says_the_key_budget_ran_out_not_the_team(start_gateway):
    gw = start_gateway(PRICED)
    key = team_key(gw, topup=10_000_000, budget_micros=50_000, budget_period="daily")
    assert chat(gw, key).status == 200
    refused = chat(gw, key)
    assert refused.status == 402
    message = refused.json()["error"]["message"]
    assert "daily budget of API key" in message and "team balance is not the problem" in message


def test_free_selftest_passes_an_empty_team_and_costs_nothing(start_gateway):
    gw = start_gateway()
    key = team_key(gw)
    response = chat(gw, key)
    assert response.status == 200
    row = gw.log(response.headers["x-request-id"])
    assert row["cost_micros"] == 0 and row["price"] is None
    assert ledger_rows(gw) == []


def test_priced_selftest_log_row_says_why_this_price(start_gateway):
    gw = start_gateway(PRICED)
    key = team_key(gw, topup=1_000_000)
    response = chat(gw, key)
    row = gw.log(response.headers["x-request-id"])
    price = orjson.loads(row["price"])
    assert price["input"] == price["output"] == 1_000_000_000
    assert row["cost_micros"] == (row["input_tokens"] + row["output_tokens"]) * 1000
    settled(gw, 1)
    [charge] = ledger_rows(gw)
    assert charge["amount_micros"] == -row["cost_micros"] and charge["entry_id"] == row["request_id"] + ":0"
    assert charge["model"] == SELFTEST and charge["team_id"] is not None


def test_rate_limit_answers_429_with_retry_after(start_gateway):
    gw = start_gateway()
    key = team_key(gw, rpm=2)
    assert [chat(gw, key).status for _ in range(2)] == [200, 200]
    limited = chat(gw, key)
    assert limited.status == 429
    error = limited.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "rate_limit_error"
    assert "requests per minute (limit 2)" in error["message"]
    assert 1 <= int(limited.headers["retry-after"]) <= 120  # into the next minute at most


def test_team_model_groups_decide_which_models_its_keys_may_use(start_gateway, upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    config = channel_config(upstream) | {"model_groups": {"basic": [SELFTEST], "premium": ["gpt-4.1-mini"]}}
    gw = start_gateway(config)
    key = team_key(gw, groups=["basic"])
    assert chat(gw, key).status == 200
    refused = chat(gw, key, model="gpt-4.1-mini")
    assert (
        refused.status == 403
        and "team 'acme' may not use the model 'gpt-4.1-mini'" in refused.json()["error"]["message"]
    )


def test_a_price_changed_at_run_time_applies_within_a_second(start_gateway):
    gw = start_gateway()
    key = team_key(gw, topup=10_000_000)
    set_price(gw.gateway.engine, SELFTEST, PriceConfig(input=1000, output=1000), "ops")
    started = time.monotonic()
    wait_for(lambda: gw.log(chat(gw, key).headers["x-request-id"])["cost_micros"] > 0, timeout=3)
    assert time.monotonic() - started < 1.5


# --- what an upstream does to the bill -----------------------------------------------------------


@pytest.fixture
def billed(start_gateway, upstream, monkeypatch):
    """A gateway on the fake upstream, one team with money and its key."""
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    gw = start_gateway(channel_config(upstream))
    gw.key = team_key(gw, topup=10_000_000)
    return gw


def test_upstream_4xx_costs_nothing_and_frees_the_reservation(billed, upstream):
    upstream.fail_next(400, {"error": {"message": "bad", "type": "invalid_request_error", "code": None}})
    response = chat(billed, billed.key, model="gpt-4.1-mini")
    assert response.status == 400
    settled(billed, 1)
    assert gw_row(billed, response)["cost_micros"] == 0 and ledger_rows(billed) == []
    assert get_team(billed.gateway.engine, "acme").balance_micros == 10_000_000


def gw_row(gw, response) -> dict:
    return gw.log(response.headers["x-request-id"])


def test_sdk_retries_after_an_upstream_500_are_charged_once(billed, upstream):
    upstream.fail_next(500, {"error": {"message": "boom", "type": "server_error", "code": None}})
    client = billed.client(api_key=billed.key, max_retries=2)
    client.chat.completions.create(model="gpt-4.1-mini", messages=HI)
    settled(billed, 2)
    rows = query_logs(billed.gateway.engine)
    assert sorted(r["status"] for r in rows) == [200, 502] or sorted(r["status"] for r in rows) == [200, 500]
    charges = ledger_rows(billed)
    assert len(charges) == 1 and -charges[0]["amount_micros"] == sum(r["cost_micros"] for r in rows)


def test_cached_tokens_are_charged_at_the_cached_price_in_the_ledger(billed, upstream):
    upstream.cached_tokens = 40
    long_prompt = [{"role": "user", "content": "x" * 400}]  # 101 prompt tokens at the fake upstream
    response = chat(billed, billed.key, model="gpt-4.1-mini", messages=long_prompt)
    row = gw_row(billed, response)
    # prices per 1M: input 0.4, cached 0.1, output 1.6: (61 × 0.4 + 40 × 0.1 + 6 × 1.6) = 38 micro-units
    assert (row["input_tokens"], row["cached_tokens"], row["output_tokens"]) == (101, 40, 6)
    expected = 38
    assert row["cost_micros"] == expected
    settled(billed, 1)
    assert [c["amount_micros"] for c in ledger_rows(billed)] == [-expected]


def test_client_disconnect_mid_stream_is_charged_for_usage_so_far_flagged_estimated(billed, upstream):
    release = threading.Event()
    upstream.hold_after_first_chunk = release
    body = {"model": "gpt-4.1-mini", "messages": HI, "stream": True}
    sock = open_raw_post(billed.root, "/api/v1/chat/completions", body, billed.key)
    received = b""
    while b"data: " not in received:
        received += sock.recv(65536)
    sock.close()  # while the upstream still holds the rest
    settled(billed, 1)
    release.set()
    [row] = query_logs(billed.gateway.engine, status=499)
    assert row["usage_estimated"] and row["cost_micros"] > 0
    assert [c["amount_micros"] for c in ledger_rows(billed)] == [-row["cost_micros"]]


def test_openai_sdk_reads_the_402_as_a_non_retryable_error(start_gateway):
    gw = start_gateway(PRICED)
    key = team_key(gw)
    client = gw.client(api_key=key, max_retries=2)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=SELFTEST, messages=HI)
    assert caught.value.status_code == 402 and caught.value.code == "insufficient_quota"
    settled(gw, 1)
    assert len(query_logs(gw.gateway.engine)) == 1  # x-should-retry: false kept the SDK from retrying


def test_an_upstream_timeout_costs_nothing_and_releases_the_reservation(start_gateway, upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    gw = start_gateway(channel_config(upstream, timeouts={"first_byte": 0.3}))
    key = team_key(gw, topup=10_000_000)
    upstream.delay_before_headers = 1.0
    response = chat(gw, key, model="gpt-4.1-mini")
    assert response.status == 504
    settled(gw, 1)
    assert gw_row(gw, response)["cost_micros"] == 0 and ledger_rows(gw) == []


# --- the Anthropic surface -----------------------------------------------------------------------


def test_an_empty_balance_is_a_billing_error_for_the_anthropic_sdk(start_gateway):
    import anthropic

    gw = start_gateway(PRICED)
    key = team_key(gw)
    client = gw.anthropic_client(api_key=key, max_retries=2)
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model=SELFTEST, max_tokens=20, messages=HI)
    assert caught.value.status_code == 402
    assert caught.value.body["error"]["type"] == "billing_error"
    assert caught.value.response.headers["x-should-retry"] == "false"
    settled(gw, 1)
    assert len(query_logs(gw.gateway.engine)) == 1  # the SDK did not retry


def test_anthropic_cache_reads_and_writes_are_charged_at_their_prices(claude_gateway, anthropic_upstream):
    anthropic_upstream.cache_read_tokens, anthropic_upstream.cache_creation_tokens = 100, 10
    key = team_key(claude_gateway, topup=10_000_000)
    client = claude_gateway.anthropic_client(api_key=key)
    raw = client.messages.with_raw_response.create(model="claude-sonnet-4-6", max_tokens=64, messages=HI)
    row = gw_row(claude_gateway, raw)
    assert (row["cached_tokens"], row["cache_write_tokens"]) == (100, 10)
    # claude-sonnet-4-6 per 1M: input 3, cached 0.3, cache write (defaults to input) 3, output 15
    fresh = row["input_tokens"] - 100 - 10
    assert row["cost_micros"] == round(fresh * 3 + 100 * 0.3 + 10 * 3 + row["output_tokens"] * 15)
    settled(claude_gateway, 1)
    assert [c["amount_micros"] for c in ledger_rows(claude_gateway)] == [-row["cost_micros"]]


def test_count_tokens_costs_nothing_and_needs_no_balance(claude_gateway):
    key = team_key(claude_gateway)  # an empty balance
    client = claude_gateway.anthropic_client(api_key=key)
    raw = client.messages.with_raw_response.count_tokens(model="sonnet", messages=HI)
    assert raw.parse().input_tokens > 0
    assert gw_row(claude_gateway, raw)["cost_micros"] == 0
    settled(claude_gateway, 1)
    assert ledger_rows(claude_gateway) == []
