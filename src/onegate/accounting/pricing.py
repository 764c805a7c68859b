"""Cost of a request in integer micro-units, from usage and the model's price."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import orjson

from onegate.accounting.usage import Usage
from onegate.settings import MICROS, PriceConfig


@dataclass(frozen=True, slots=True)
class Price:
    """Micro-units per 1M tokens (and per request, per image, per second of video)."""

    input: int = 0
    cached_input: int = 0
    cache_write: int = 0
    output: int = 0
    per_request: int = 0
    per_image: int = 0
    image_input: int = 0  # per 1M image tokens in a prompt (image edits)
    image_output: int = 0  # per 1M image tokens generated
    per_second: int = 0  # per second of video
    # ("SIZE/QUALITY" or "SIZE", price per image): a per-image price table; `for_image` picks the row
    image_prices: tuple[tuple[str, int], ...] = ()
    video_sizes: tuple[tuple[str, float], ...] = ()  # (size, multiplier of per_second)

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
            image_input=round((config.image_input if config.image_input is not None else config.input) * MICROS),
            image_output=round((config.image_output if config.image_output is not None else config.output) * MICROS),
            per_second=round(config.per_second * MICROS),
            image_prices=tuple((k, round(v * MICROS)) for k, v in sorted(config.image_prices.items())),
            video_sizes=tuple(sorted(config.video_sizes.items())),
        )

    def for_image(self, size: str | None, quality: str | None) -> Price:
        """This price with `per_image` from the (size, quality) table: `SIZE/QUALITY`, else `SIZE`, else as is."""
        if not self.image_prices:
            return self
        table = dict(self.image_prices)
        found = table.get(f"{size}/{quality}", table.get(str(size)))
        return self if found is None else replace(self, per_image=found)

    def for_video(self, size: str | None) -> Price:
        """This price with `per_second` scaled by the size's multiplier (1 for a size the table lacks)."""
        factor = dict(self.video_sizes).get(str(size), 1.0)
        return self if factor == 1.0 else replace(self, per_second=round(self.per_second * factor))

    def as_dict(self) -> dict[str, Any]:
        """Every token price; the media prices only where they differ from what they default to."""
        prices = {f: getattr(self, f) for f in _TOKEN_FIELDS}  # dataclasses.asdict deep-copies: 30× slower
        defaults = {"image_input": self.input, "image_output": self.output}
        for name in _MEDIA_FIELDS:
            value = getattr(self, name)
            if value != defaults.get(name, _EMPTY[type(value)]):
                prices[name] = value
        return prices

    def as_json(self) -> str:
        """For the log row ("why this price"), computed once per price."""
        return _price_json(self)

    @property
    def free(self) -> bool:
        return not any(
            (self.input, self.cached_input, self.cache_write, self.output, self.per_request, self.per_image)
            + (self.image_input, self.image_output, self.per_second, self.image_prices)
        )


FREE = Price()
_TOKEN_FIELDS = ("input", "cached_input", "cache_write", "output", "per_request", "per_image")
_MEDIA_FIELDS = ("image_input", "image_output", "per_second", "image_prices", "video_sizes")
_EMPTY: dict[type, Any] = {int: 0, tuple: ()}


@functools.lru_cache(maxsize=1024)
def _price_json(price: Price) -> str:
    return orjson.dumps(price.as_dict()).decode()


def cost_micros(usage: Usage, price: Price) -> int:
    """Prompt tokens read from the vendor's cache at the cached price, those written to it at the cache-write
    price, image tokens at the image rates, the rest of the prompt at the input price; then output, images
    (per image only when no image tokens were reported at an image rate), video seconds, per request."""
    text_in = usage.input_tokens - usage.cached_tokens - usage.cache_write_tokens - usage.image_input_tokens
    per_million = (
        max(0, text_in) * price.input
        + usage.cached_tokens * price.cached_input
        + usage.cache_write_tokens * price.cache_write
        + usage.image_input_tokens * price.image_input
        + max(0, usage.output_tokens - usage.image_output_tokens) * price.output
        + usage.image_output_tokens * price.image_output
    )
    by_tokens = usage.image_output_tokens and price.image_output
    images = 0 if by_tokens else usage.images * price.per_image
    video = round(usage.video_seconds * price.per_second)
    # round half up to the micro-unit, in integers only
    return (per_million + 500_000) // 1_000_000 + price.per_request + images + video


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
