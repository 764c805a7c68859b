"""How far below zero a balance can go: when a balance or budget pays, every request's reservation is its
worst case, so its output gets a limit (lowered to what the money left can pay, in the request's own
dialect, whether the upstream gets it as sent or translated), and a request that cannot pay a minimal
answer is a 402. The long answers of a talkative model no longer drive a balance far below zero."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from onegate.store.teams import get_team
from tests.conftest import UPSTREAM_SECRET, channel_config, raw_request
from tests.e2e.test_billing import settled, team_key

MODEL = "gpt-4.1-mini"
PER_TOKEN = 100  # micro-units a token, input and output
BALANCE = 2_500_000  # 2.50
WORST_OUTPUT = 4096  # accounting.reserve_output_tokens: the limit onegate sets when a request has none


@pytest.fixture
def talkative(start_gateway, upstream, monkeypatch):
    """A gateway whose upstream answers at length (20 000 tokens unless told less), a team with 2.50."""
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    upstream.long_answer_tokens = 20_000
    config = channel_config(upstream)
    config["prices"] = {MODEL: {"input": PER_TOKEN, "output": PER_TOKEN}}
    gw = start_gateway(config)
    gw.key = team_key(gw, topup=BALANCE)
    return gw


async def _burst(url: str, key: str, bodies: list[dict]) -> list[int]:
    async with aiohttp.ClientSession() as session:

        async def one(body: dict) -> int:
            async with session.post(url, json=body, headers={"Authorization": f"Bearer {key}"}) as response:
                await response.read()
                return response.status

        return await asyncio.gather(*(one(b) for b in bodies))


def test_twelve_long_answers_at_once_without_max_tokens_stop_near_zero(talkative, upstream):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "tell me everything"}]}
    statuses = asyncio.run(_burst(talkative.base_url + "/chat/completions", talkative.key, [body] * 12))
    assert statuses.count(200) >= 6 and set(statuses) <= {200, 402}
    settled(talkative, 12)
    balance = get_team(talkative.gateway.engine, "acme").balance_micros
    one_request_worst_case = (WORST_OUTPUT + 100) * PER_TOKEN
    assert balance >= -one_request_worst_case, balance  # it was 2.50 → -7.11 before outputs had limits
    # what reached the upstream: every request had an output limit, none above the worst case
    limits = [r.json["max_completion_tokens"] for r in upstream.requests if r.path.endswith("/chat/completions")]
    assert len(limits) == statuses.count(200) and max(limits) == WORST_OUTPUT and min(limits) >= 16


def test_a_request_the_balance_cannot_pay_is_capped_and_the_log_row_says_so(talkative, upstream):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100_000}
    response = raw_request(
        "POST", talkative.base_url + "/chat/completions", body, {"Authorization": f"Bearer {talkative.key}"}
    )
    assert response.status == 200
    sent = upstream.requests[-1].json["max_tokens"]
    assert 16 <= sent < BALANCE // PER_TOKEN
    row = talkative.log(response.headers["x-request-id"])
    assert f"output capped at {sent} tokens" in row["notes"]
    settled(talkative, 1)
    assert get_team(talkative.gateway.engine, "acme").balance_micros >= 0


def test_the_cap_reaches_a_translated_upstream_in_its_own_dialect(talkative, upstream):
    """Messages and Responses requests served by a Chat upstream: the cap rides through the translation."""
    messages = {"model": MODEL, "max_tokens": 100_000, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-api-key": talkative.key, "anthropic-version": "2023-06-01"}
    assert raw_request("POST", talkative.base_url + "/messages", messages, headers).status == 200
    capped = upstream.requests[-1].json
    assert 16 <= (capped.get("max_completion_tokens") or capped["max_tokens"]) < BALANCE // PER_TOKEN
    responses = {"model": MODEL, "input": "hi"}  # no max_output_tokens: onegate sets one
    answer = raw_request(
        "POST", talkative.base_url + "/responses", responses, {"Authorization": f"Bearer {talkative.key}"}
    )
    assert answer.status == 200
    sent = upstream.requests[-1].json
    assert 16 <= (sent.get("max_completion_tokens") or sent["max_tokens"]) <= WORST_OUTPUT


def test_a_balance_that_cannot_pay_a_minimal_answer_is_a_402(talkative):
    engine = talkative.gateway.engine
    from onegate.store.teams import change_balance

    change_balance(engine, "acme", "adjust", -(BALANCE - 1000), "test")  # 0.001 left: ten tokens' worth
    talkative.gateway.directory._teams.clear()  # noqa: SLF001 - the next request reloads the team at once
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    response = raw_request(
        "POST", talkative.base_url + "/chat/completions", body, {"Authorization": f"Bearer {talkative.key}"}
    )
    assert response.status == 402 and response.json()["error"]["code"] == "insufficient_quota"
