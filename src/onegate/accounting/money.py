"""Amounts as people write them (`12.5`) and as onegate stores them (integer micro-units)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from onegate.settings import MICROS


def parse_amount(text: str) -> int:
    """`12.5` → 12_500_000. Exact: more than six decimals is an error, never a rounding."""
    try:
        value = Decimal(text.strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount; write it like 12.5") from None
    micros = value * MICROS
    if micros != micros.to_integral_value():
        raise ValueError(f"{text!r} has more than six decimals")
    return int(micros)


def format_amount(micros: int, currency: str = "") -> str:
    """12_500_000 → `12.50`; sub-cent amounts keep their digits (`0.000125`)."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICROS)
    digits = f"{frac:06d}".rstrip("0").ljust(2, "0")
    text = f"{sign}{whole:,}.{digits}"
    return f"{text} {currency}".rstrip()
