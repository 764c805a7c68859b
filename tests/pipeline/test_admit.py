"""Admission's refusals, in each dialect: whose money or limit, and when to retry; never amounts."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from onegate import errors
from onegate.apikeys import KeyRecord
from onegate.counters.protocol import Reason, Refusal
from onegate.dialects.render import render_error
from onegate.pipeline.admit import refusal_error
from onegate.store.teams import TeamRecord

KEY = KeyRecord(3, "alice", "h", "sk-…abcd", "active", None, None, 0.0, 7, 5_000_000, "weekly", 60)


TEAM = TeamRecord(7, "acme", "active", 123_456_789, 4, None, rpm=600)


def _rendered(dialect: str, error: errors.GatewayError) -> dict:
    return orjson.loads(render_error(dialect, error, "req_1"))


def test_an_empty_balance_is_insufficient_quota_for_openai_and_billing_error_for_anthropic():
    error = refusal_error(Refusal(Reason.TEAM_BALANCE), KEY, TEAM, 0)
    assert error.status == 402 and error.response_headers()["x-should-retry"] == "false"
    openai = _rendered("openai_chat", error)["error"]
    assert (openai["type"], openai["code"]) == ("insufficient_quota", "insufficient_quota")
    anthropic = _rendered("anthropic_messages", error)
    assert anthropic["type"] == "error" and anthropic["error"]["type"] == "billing_error"
    assert "123" not in error.message and "team 'acme'" in error.message


def test_a_spent_key_budget_says_so_and_when_it_resets_without_amounts():
    reset = datetime(2026, 11, 30, tzinfo=UTC).timestamp()
    error = refusal_error(Refusal(Reason.KEY_BUDGET), KEY, TEAM, reset)
    assert error.status == 402
    assert "weekly budget of API key sk-…abcd (alice)" in error.message and "2026-11-30 00:00 UTC" in error.message
    assert "5" not in error.message.replace("2026-11-30", "")


def test_rate_limits_say_whose_limit_and_when_to_retry():
    error = refusal_error(Refusal(Reason.TEAM_RPM, 12.3), KEY, TEAM, 0)
    assert error.status == 429 and error.response_headers()["retry-after"] == "12"
    assert "team 'acme': requests per minute (limit 600)" in error.message
    assert _rendered("anthropic_messages", error)["error"]["type"] == "rate_limit_error"
