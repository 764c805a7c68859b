"""`onegate prices`: a model's price at run time, over the config file's; every instance takes it within
a second."""

from __future__ import annotations

from typing import Annotated

import typer

from onegate.accounting.pricing import Price
from onegate.cli.common import (
    Actor,
    ConfigPath,
    DataDir,
    announce,
    default_actor,
    fail,
    open_store,
    print_table,
    settings_or_exit,
)
from onegate.settings import PriceConfig, public_models
from onegate.store.prices import clear_price, list_prices, set_price

app = typer.Typer(help="Prices per model (currency units per 1M tokens, per request, per image).", no_args_is_help=True)


@app.command("set")
def set_(
    model: str,
    input: Annotated[float, typer.Option("--input", help="Per 1M prompt tokens.")] = 0.0,
    cached_input: Annotated[float | None, typer.Option("--cached-input", help="Per 1M cached prompt tokens.")] = None,
    cache_write: Annotated[float | None, typer.Option("--cache-write", help="Per 1M tokens written to cache.")] = None,
    output: Annotated[float, typer.Option("--output", help="Per 1M output tokens.")] = 0.0,
    per_request: Annotated[float, typer.Option("--per-request")] = 0.0,
    per_image: Annotated[float, typer.Option("--per-image")] = 0.0,
    by: Actor = None,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Set MODEL's price (every field; omitted ones are 0, cached and cache-write default to input)."""
    settings = settings_or_exit(data_dir, config)
    known = public_models(settings.channels, settings.selftest_model)
    if model not in known:
        fail(f"no model {model!r} in the config; models: {', '.join(sorted(known))}")
    price = PriceConfig(
        input=input,
        cached_input=cached_input,
        cache_write=cache_write,
        output=output,
        per_request=per_request,
        per_image=per_image,
    )
    set_price(open_store(settings), model, price, by or default_actor())
    announce(settings, "prices")
    typer.echo(f"{model}: {_show(Price.from_config(price))} (micro-units per 1M tokens / per request / per image)")


@app.command("clear")
def clear(model: str, data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Back to the config file's price for MODEL."""
    settings = settings_or_exit(data_dir, config)
    if not clear_price(open_store(settings), model):
        fail(f"{model} has no run-time price")
    announce(settings, "prices")
    typer.echo(f"{model}: back to the config file's price")


def _show(price: Price) -> str:
    return ", ".join(f"{k} {v}" for k, v in price.as_dict().items())


@app.command("list")
def list_(data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Every priced model and where its price comes from."""
    settings = settings_or_exit(data_dir, config)
    overrides = list_prices(open_store(settings))
    rows = [("MODEL", "FROM", f"PRICE ({settings.accounting.currency}, micro-units)")]
    for model in sorted(set(settings.prices) | set(overrides)):
        source, config_price = (
            ("run time", overrides[model]) if model in overrides else ("config", settings.prices[model])
        )
        rows.append((model, source, _show(Price.from_config(config_price))))
    print_table(rows)
