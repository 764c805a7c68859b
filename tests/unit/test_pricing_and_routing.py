"""Cost in integer micro-units, model-name matching, route normalisation, key extraction."""

from __future__ import annotations

import pytest

from onegate.accounting.pricing import Price, cost_micros
from onegate.accounting.usage import Usage
from onegate.apikeys import mask_key, parse_duration
from onegate.diagnosis.models import diagnose_model
from onegate.pipeline.authenticate import extract_token
from onegate.server.routes import api_suffix, match, normalise
from onegate.settings import PriceConfig


def close_matches(model: str, names: list[str], limit: int = 3) -> list[str]:
    """Up to `limit` real names close to `model`, best first."""
    return list(diagnose_model(model, names, limit).suggestions)


def test_cost_charges_cached_tokens_at_the_cached_price():
    price = Price.from_config(PriceConfig(input=2.5, cached_input=1.25, output=10))
    usage = Usage(input_tokens=1000, cached_tokens=400, output_tokens=200)
    # 600 × 2.5 + 400 × 1.25 + 200 × 10 = 1500 + 500 + 2000 micro-units
    assert cost_micros(usage, price) == 4000


def test_cost_defaults_cached_price_to_input_price_and_adds_per_request():
    price = Price.from_config(PriceConfig(input=1, output=1, per_request=0.002))
    assert cost_micros(Usage(input_tokens=10, cached_tokens=10), price) == 10 + 2000


def test_cost_rounds_to_the_micro_unit():
    price = Price.from_config(PriceConfig(input=0.15))
    assert cost_micros(Usage(input_tokens=3), price) == 0  # 0.45 micro → 0
    assert cost_micros(Usage(input_tokens=4), price) == 1  # 0.6 micro → 1


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("openai/gpt-4.1-mini", "gpt-4.1-mini"),
        ("GPT-4.1-Mini", "gpt-4.1-mini"),
        ("gpt 4.1 mini", "gpt-4.1-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("claude-sonet-4", "claude-sonnet-4"),
    ],
)
def test_close_matches_find_the_real_name(asked, expected):
    names = ["gpt-4.1-mini", "gpt-4.1", "claude-sonnet-4", "onegate-selftest"]
    assert close_matches(asked, names)[0] == expected


def test_close_matches_caps_at_three_and_finds_nothing_for_nonsense():
    assert len(close_matches("gpt", ["gpt-1", "gpt-2", "gpt-3", "gpt-4"])) == 3
    assert close_matches("zzzz", ["gpt-4.1-mini"]) == []


@pytest.mark.parametrize(
    ("path", "suffix"),
    [
        ("/api/v1/chat/completions", "/chat/completions"),
        ("/v1/chat/completions", "/chat/completions"),
        ("/api/v1//chat/completions/", "/chat/completions"),
        ("/api/v1x/chat/completions", None),
        ("/chat/completions", None),
    ],
)
def test_api_suffix_after_normalising(path, suffix):
    assert api_suffix(normalise(path)) == suffix


def test_match_knows_wrong_methods_from_unknown_paths():
    assert match("POST", "/api/v1/chat/completions")[0] is not None
    assert match("GET", "/api/v1/chat/completions") == (None, True)
    assert match("POST", "/api/v1/nothing") == (None, False)
    assert match("GET", "/api/v1/models/gpt-4.1")[0] is not None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"authorization": "Bearer sk-og-a"}, ("sk-og-a", "authorization")),
        ({"authorization": "bearer  sk-og-a "}, ("sk-og-a", "authorization")),
        ({"authorization": "Basic abc", "x-api-key": "sk-og-b"}, ("sk-og-b", "x-api-key")),
        ({"api-key": "sk-og-c"}, ("sk-og-c", "api-key")),
        ({"x-goog-api-key": "sk-og-d"}, ("sk-og-d", "x-goog-api-key")),
        ({"authorization": "Bearer "}, (None, None)),
        ({}, (None, None)),
    ],
)
def test_extract_token_reads_every_client_header(headers, expected):
    assert extract_token(headers) == expected


def test_mask_and_durations():
    assert mask_key("sk-og-abcdefgh1234") == "sk-…1234"
    assert parse_duration("30d") == 30 * 86400
    assert parse_duration("12h") == 43200
    assert parse_duration("90") == 90
