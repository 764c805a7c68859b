"""Prices set at run time (`onegate prices set`), overriding the config file's; every instance picks
them up (pushed over Redis pub/sub, or polled)."""

from __future__ import annotations

import time

import msgspec
from sqlalchemy import Engine, delete, func, select

from onegate.settings import PriceConfig
from onegate.store.schema import model_prices


def set_price(engine: Engine, model: str, price: PriceConfig, actor: str) -> None:
    values = {"price": msgspec.json.encode(price).decode(), "actor": actor, "updated_at": time.time()}
    with engine.begin() as conn:
        conn.execute(delete(model_prices).where(model_prices.c.model == model))
        conn.execute(model_prices.insert().values(model=model, **values))


def clear_price(engine: Engine, model: str) -> bool:
    """Back to the config file's price; False when no run-time price was set."""
    with engine.begin() as conn:
        return conn.execute(delete(model_prices).where(model_prices.c.model == model)).rowcount > 0


def list_prices(engine: Engine) -> dict[str, PriceConfig]:
    with engine.connect() as conn:
        rows = conn.execute(select(model_prices.c.model, model_prices.c.price)).all()
    return {model: msgspec.json.decode(price, type=PriceConfig) for model, price in rows}


def prices_revision(engine: Engine) -> tuple[float, int]:
    with engine.connect() as conn:
        latest, count = conn.execute(select(func.max(model_prices.c.updated_at), func.count())).one()
    return (latest or 0.0, count)
