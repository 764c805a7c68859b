"""`onegate prices`: a model's price at run time, over the config file's; every instance takes it within
a second."""

from __future__ import annotations

from typing import Annotated

import typer

from onegate.cli.backend import backend, run
from onegate.cli.common import Actor, ConfigPath, DataDir, print_table, settings_or_exit
from onegate.settings import PriceConfig

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
    price = PriceConfig(
        input=input,
        cached_input=cached_input,
        cache_write=cache_write,
        output=output,
        per_request=per_request,
        per_image=per_image,
    )
    api = backend(lambda: settings_or_exit(data_dir, config), by)
    view = run(lambda: api.set_price(model, price))
    typer.echo(f"{model}: {_show(view.micros)} (micro-units per 1M tokens / per request / per image)")


@app.command("clear")
def clear(model: str, data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Back to the config file's price for MODEL."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    run(lambda: api.clear_price(model))
    typer.echo(f"{model}: back to the config file's price")


def _show(micros: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in micros.items())


@app.command("list")
def list_(data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Every priced model and where its price comes from."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    rows = [("MODEL", "FROM", "PRICE (micro-units)")]
    rows += [(p.model, p.source, _show(p.micros)) for p in run(api.list_prices)]
    print_table(rows)
