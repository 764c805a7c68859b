"""What clients that show a balance read, answered for the calling key: OpenRouter's key info and OpenAI's
legacy billing endpoints, through the real openai SDK (as Chatbox, NextChat and LobeChat call them) and
raw HTTP."""

from __future__ import annotations

import datetime

import requests

from tests.admin.conftest import Console


def _spend(c: Console, key: str) -> float:
    """One request; what it cost, in currency units, as its log row says."""
    client = c.gw.client(api_key=key)
    response = client.chat.completions.with_raw_response.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}]
    )
    return c.gw.log(response.headers["x-request-id"])["cost_micros"] / 1_000_000


def test_openrouter_key_info_shows_the_key_budget_and_what_is_left(console: Console):
    c = console
    cost = _spend(c, c.tokens["key_a"])
    client = c.gw.client(api_key=c.tokens["key_a"])
    info = client.get("/key", cast_to=object)["data"]
    assert info["label"].startswith("key-a (sk-…") and c.tokens["key_a"] not in info["label"]
    assert info["usage"] == round(cost, 6) and info["usage_monthly"] == info["usage"] and info["limit"] == 5.0
    assert abs(info["limit_remaining"] - (5.0 - info["usage"])) < 1e-9
    assert info["limit_reset"] == "monthly" and set(info["rate_limit"]) == {"requests", "interval"}
    assert requests.get(c.gw.root + "/api/v1/auth/key", headers={"authorization": f"Bearer {c.tokens['key_a']}"},
                        timeout=30).json()["data"] == info  # fmt: skip
    other = requests.get(
        c.gw.root + "/api/v1/key", headers={"authorization": f"Bearer {c.tokens['key_b']}"}, timeout=30
    )
    assert other.json()["data"]["usage"] == 0  # each key sees its own spend


def test_a_key_without_budget_shows_its_team_balance(console: Console):
    c = console
    made = c.ok("POST", "/keys", json={"name": "no-budget", "team_id": c.ids["team_a"]})
    info = c.gw.client(api_key=made["secret"]).get("/key", cast_to=object)["data"]
    assert info["limit_remaining"] == 10.0 and info["limit"] == 10.0 and info["limit_reset"] is None
    unlimited = c.gw.client().get("/key", cast_to=object)["data"]  # the fixture's key: no team, no budget
    assert unlimited["limit"] is None and unlimited["limit_remaining"] is None


def test_openai_legacy_billing_subscription_and_usage(console: Console):
    c = console
    cost = _spend(c, c.tokens["key_a"])
    client = c.gw.client(api_key=c.tokens["key_a"])
    subscription = client.get("/dashboard/billing/subscription", cast_to=object)
    assert subscription["object"] == "billing_subscription" and subscription["hard_limit_usd"] == 5.0
    today = datetime.datetime.now(datetime.UTC).date()
    query = f"?start_date={today.replace(day=1)}&end_date={today + datetime.timedelta(days=1)}"
    usage = requests.get(c.gw.root + "/v1/dashboard/billing/usage" + query,
                         headers={"authorization": f"Bearer {c.tokens['key_a']}"}, timeout=30).json()  # fmt: skip
    assert usage["object"] == "list" and usage["total_usage"] == round(cost * 100, 6)  # cents
    if cost:
        assert usage["daily_costs"][0]["line_items"][0]["name"] == "gpt-4.1-mini"
    bad = requests.get(c.gw.root + "/v1/dashboard/billing/usage?start_date=yesterday",
                       headers={"authorization": f"Bearer {c.tokens['key_a']}"}, timeout=30)  # fmt: skip
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "start_date"
    anonymous = requests.get(c.gw.root + "/v1/dashboard/billing/subscription", timeout=30)
    assert anonymous.status_code == 401
