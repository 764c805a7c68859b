"""Cost of a request in integer micro-units, from usage and the model's price."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from onegate.accounting.usage import Usage
from onegate.settings import MICROS, PriceConfig


@dataclass(frozen=True, slots=True)
class Price:
    """Micro-units per 1M tokens (and per request)."""

    input: int = 0
    cached_input: int = 0
    output: int = 0
    per_request: int = 0

    @classmethod
    def from_config(cls, config: PriceConfig) -> Price:
        cached = config.cached_input if config.cached_input is not None else config.input
        return cls(
            input=round(config.input * MICROS),
            cached_input=round(cached * MICROS),
            output=round(config.output * MICROS),
            per_request=round(config.per_request * MICROS),
        )

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


FREE = Price()


def cost_micros(usage: Usage, price: Price) -> int:
    """Cached prompt tokens are charged at the cached price, the rest of the prompt at the input price."""
    uncached = max(0, usage.input_tokens - usage.cached_tokens)
    per_million = uncached * price.input + usage.cached_tokens * price.cached_input + usage.output_tokens * price.output
    # round half up to the micro-unit, in integers only
    return (per_million + 500_000) // 1_000_000 + price.per_request
