"""Prices: each model's effective price and where it comes from; set or clear a run-time price."""

from __future__ import annotations

import msgspec
from sqlalchemy import Engine

from onegate.accounting.pricing import Price
from onegate.manage import audit
from onegate.manage.actor import Actor, invalid, not_found, require_write
from onegate.settings import PriceConfig
from onegate.store import prices as store


class PriceView(msgspec.Struct, kw_only=True):
    model: str
    source: str  # config | run time
    price: PriceConfig  # currency units per 1M tokens / per request / per image
    micros: dict[str, int]  # the same in micro-units, as charged


def list_prices(engine: Engine, actor: Actor, configured: dict[str, PriceConfig]) -> list[PriceView]:
    del actor  # every role may read prices: a key holder should know what a request costs
    overrides = store.list_prices(engine)
    out = []
    for model in sorted(set(configured) | set(overrides)):
        source, price = ("run time", overrides[model]) if model in overrides else ("config", configured[model])
        out.append(PriceView(model=model, source=source, price=price, micros=Price.from_config(price).as_dict()))
    return out


def set_price(engine: Engine, actor: Actor, model: str, price: PriceConfig, known_models: set[str]) -> PriceView:
    require_write(actor)
    if model not in known_models:
        raise invalid(f"no model {model!r} in the config; models: {', '.join(sorted(known_models))}")
    before = store.list_prices(engine).get(model)
    store.set_price(engine, model, price, actor.name)
    with engine.begin() as conn:
        audit.record(conn, actor, "prices.set", f"price:{model}", before=before, after=price)
    return PriceView(model=model, source="run time", price=price, micros=Price.from_config(price).as_dict())


def clear_price(engine: Engine, actor: Actor, model: str) -> None:
    require_write(actor)
    before = store.list_prices(engine).get(model)
    if before is None or not store.clear_price(engine, model):
        raise not_found(f"{model} has no run-time price")
    with engine.begin() as conn:
        audit.record(conn, actor, "prices.clear", f"price:{model}", before=before)
