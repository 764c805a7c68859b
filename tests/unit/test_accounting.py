"""Pure accounting pieces: amounts, budget periods, the reservation estimate, refusals in each dialect."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from onegate import errors
from onegate.accounting.money import format_amount, parse_amount
from onegate.accounting.periods import period_bounds
from onegate.accounting.pricing import Price, cost_micros, estimate_micros
from onegate.accounting.usage import Usage
from onegate.apikeys import KeyRecord
from onegate.counters.protocol import Reason, Refusal
from onegate.dialects.render import render_error
from onegate.pipeline.admit import refusal_error
from onegate.settings import PriceConfig
from onegate.store.teams import TeamRecord

KEY = KeyRecord(3, "alice", "h", "sk-…abcd", "active", None, None, 0.0, 7, 5_000_000, "weekly", 60)
TEAM = TeamRecord(7, "acme", "active", 123_456_789, 4, None, rpm=600)


@pytest.mark.parametrize(
    ("text", "micros"), [("12.5", 12_500_000), ("0.000001", 1), ("-3", -3_000_000), ("1,000", 10**9)]
)
def test_amounts_parse_exactly(text, micros):
    assert parse_amount(text) == micros


@pytest.mark.parametrize("text", ["0.0000001", "abc", ""])
def test_amounts_that_would_need_rounding_or_are_not_numbers_are_refused(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def test_amounts_print_with_cents_or_every_significant_digit():
    assert format_amount(12_500_000, "USD") == "12.50 USD"
    assert format_amount(125) == "0.000125"
    assert format_amount(-1_234_000_000) == "-1,234.00"


def test_budget_periods_are_utc_day_iso_week_and_month():
    moment = datetime(2026, 11, 27, 23, 59, tzinfo=UTC).timestamp()  # a Friday
    day, week, month = (period_bounds(kind, moment) for kind in ("daily", "weekly", "monthly"))
    assert day[0] == "d2026-11-27" and day[2] - day[1] == 86400
    assert week[0] == "w2026-11-23" and datetime.fromtimestamp(week[1], UTC).weekday() == 0
    assert month[0] == "m2026-11" and datetime.fromtimestamp(month[2], UTC) == datetime(2026, 12, 1, tzinfo=UTC)


def test_cache_writes_and_images_are_priced_on_their_own():
    price = Price.from_config(PriceConfig(input=3, cached_input=0.3, cache_write=3.75, output=15, per_image=0.04))
    usage = Usage(input_tokens=1000, cached_tokens=600, cache_write_tokens=300, output_tokens=10, images=2)
    # 100 × 3 + 600 × 0.3 + 300 × 3.75 + 10 × 15 = 300 + 180 + 1125 + 150, + 2 × 40_000
    assert cost_micros(usage, price) == 1755 + 80_000


def test_the_estimate_covers_the_actual_cost_of_the_same_tokens():
    price = Price.from_config(PriceConfig(input=3, cached_input=0.3, cache_write=3.75, output=15, per_request=0.01))
    usage = Usage(input_tokens=999, cached_tokens=500, cache_write_tokens=499, output_tokens=77)
    assert estimate_micros(price, 999, 77) >= cost_micros(usage, price)


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
