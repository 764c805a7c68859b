"""Cost in integer micro-units, and the reservation estimate that must cover it."""

from __future__ import annotations

from onegate.accounting.pricing import Price, cost_micros, estimate_micros
from onegate.accounting.usage import Usage
from onegate.settings import PriceConfig


def test_cache_writes_and_images_are_priced_on_their_own():
    price = Price.from_config(PriceConfig(input=3, cached_input=0.3, cache_write=3.75, output=15, per_image=0.04))
    usage = Usage(input_tokens=1000, cached_tokens=600, cache_write_tokens=300, output_tokens=10, images=2)
    # 100 × 3 + 600 × 0.3 + 300 × 3.75 + 10 × 15 = 300 + 180 + 1125 + 150, + 2 × 40_000
    assert cost_micros(usage, price) == 1755 + 80_000


def test_the_estimate_covers_the_actual_cost_of_the_same_tokens():
    price = Price.from_config(PriceConfig(input=3, cached_input=0.3, cache_write=3.75, output=15, per_request=0.01))
    usage = Usage(input_tokens=999, cached_tokens=500, cache_write_tokens=499, output_tokens=77)
    assert estimate_micros(price, 999, 77) >= cost_micros(usage, price)


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
