"""Cost of a request in integer micro-units, from usage and the model's price."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import orjson

from onegate.accounting.usage import Usage
from onegate.settings import MICROS, PriceConfig


@dataclass(frozen=True, slots=True)
class Price:
    """Micro-units per 1M tokens (and per request, per image)."""

    input: int = 0
    cached_input: int = 0
    cache_write: int = 0
    output: int = 0
    per_request: int = 0
    per_image: int = 0

    @classmethod
    def from_config(cls, config: PriceConfig) -> Price:
        cached = config.cached_input if config.cached_input is not None else config.input
        write = config.cache_write if config.cache_write is not None else config.input
        return cls(
            input=round(config.input * MICROS),
            cached_input=round(cached * MICROS),
            cache_write=round(write * MICROS),
            output=round(config.output * MICROS),
            per_request=round(config.per_request * MICROS),
            per_image=round(config.per_image * MICROS),
        )

    def as_dict(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in self.__slots__}  # dataclasses.asdict deep-copies: 30× slower

    def as_json(self) -> str:
        """For the log row ("why this price"), computed once per price."""
        return _price_json(self)

    @property
    def free(self) -> bool:
        return not any((self.input, self.cached_input, self.cache_write, self.output, self.per_request, self.per_image))


FREE = Price()


@functools.lru_cache(maxsize=1024)
def _price_json(price: Price) -> str:
    return orjson.dumps(price.as_dict()).decode()


def cost_micros(usage: Usage, price: Price) -> int:
    """Prompt tokens read from the vendor's cache at the cached price, those written to it at the cache-write
    price, the rest of the prompt at the input price; then output, images and the per-request price."""
    uncached = max(0, usage.input_tokens - usage.cached_tokens - usage.cache_write_tokens)
    per_million = (
        uncached * price.input
        + usage.cached_tokens * price.cached_input
        + usage.cache_write_tokens * price.cache_write
        + usage.output_tokens * price.output
    )
    # round half up to the micro-unit, in integers only
    return (per_million + 500_000) // 1_000_000 + price.per_request + usage.images * price.per_image


def estimate_micros(price: Price, input_tokens: int, output_tokens: int, images: int = 0) -> int:
    """An upper estimate to reserve: every prompt token at the full input price (or cache-write, if higher)."""
    per_million = input_tokens * max(price.input, price.cache_write) + output_tokens * price.output
    return (per_million + 999_999) // 1_000_000 + price.per_request + images * price.per_image


def affordable_output(price: Price, input_tokens: int, amount: int, choices: int = 1) -> int:
    """The most output tokens (per choice) whose `estimate_micros` stays within `amount`."""
    if not price.output:
        return 0
    room = (amount - price.per_request) * 1_000_000 - input_tokens * max(price.input, price.cache_write)
    return max(0, room // (price.output * choices))
