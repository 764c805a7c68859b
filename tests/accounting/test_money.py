"""Amounts: parsed exactly, printed with cents or every significant digit."""

from __future__ import annotations

import pytest

from onegate.accounting.money import format_amount, parse_amount


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
