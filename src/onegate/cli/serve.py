"""`onegate serve`: start the gateway."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from onegate.cli.common import ConfigPath, DataDir, open_store, record_serving, settings_or_exit
from onegate.settings import LimitsConfig, PriceConfig, Settings
from onegate.store.keys import create_key, list_keys

if TYPE_CHECKING:
    from sqlalchemy import Engine


def serve(
    host: Annotated[str | None, typer.Option("--host", envvar="ONEGATE_HOST")] = None,
    port: Annotated[int | None, typer.Option("--port", envvar="ONEGATE_PORT")] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, envvar="ONEGATE_WORKERS", help="Processes on this machine.")
    ] = 1,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Serve the OpenAI-compatible API (and the others) on HOST:PORT."""
    import uvicorn

    from onegate.app import create_app
    from onegate.server.serving import uvicorn_options

    settings = settings_or_exit(data_dir, config, host=host, port=port)
    engine = open_store(settings)  # migrates once, before any worker starts
    counted = _counted(settings, engine) if workers > 1 and not settings.redis_url else None
    if counted:
        engine.dispose()
        typer.secho(
            f"onegate: --workers {workers} needs redis_url: {counted}, and each worker would count them in its own "
            f"memory, allowing {workers}× as much. Set redis_url in the config (or ONEGATE_REDIS_URL), or serve "
            "with one worker.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    first_key = None
    if not list_keys(engine):
        _, first_key = create_key(engine, "first-key")
    engine.dispose()
    record_serving(settings)
    typer.echo(f"onegate: data in {settings.data_dir}, database {settings.database_url.split('://')[0]}")
    typer.echo(f"onegate: base URL for OpenAI-style clients: {settings.base_url}")
    if not settings.public_url:
        typer.echo(
            "onegate: tip: set server.public_url (or ONEGATE_PUBLIC_URL) to the address clients use; until then "
            "links and error messages name the Host header each request sent"
        )
    if first_key:
        typer.echo(f"onegate: no keys yet, so one was created (shown only now): {first_key}")
        typer.echo(
            f"onegate: try it: curl {settings.base_url}/chat/completions -H 'Authorization: Bearer {first_key}' "
            f'-H \'Content-Type: application/json\' -d \'{{"model":"{settings.selftest_model}",'
            f'"messages":[{{"role":"user","content":"hi"}}]}}\''
        )
    if workers > 1:
        # each worker builds its app from the same settings, passed down through the environment
        os.environ["ONEGATE_DATA_DIR"] = str(settings.data_dir)
        if settings.config_path is not None:
            os.environ["ONEGATE_CONFIG"] = str(settings.config_path)
    uvicorn.run(
        "onegate.app:app_from_environment" if workers > 1 else create_app(settings),
        factory=workers > 1,
        **uvicorn_options(settings, workers),
    )


def _counted(settings: Settings, engine: Engine) -> str | None:
    """What limits or money this setup counts (prices, rate limits, budgets, team balances); None: nothing."""
    from onegate.store.prices import list_prices
    from onegate.store.teams import list_teams

    accounting = settings.accounting
    if any(p != PriceConfig() for p in [*settings.prices.values(), *list_prices(engine).values()]):
        return "models have prices"
    if accounting.key_limits != LimitsConfig() or accounting.team_limits != LimitsConfig():
        return "rate limits are configured"
    if any(k.rpm or k.tpm or k.concurrent or k.budget_micros is not None for k in list_keys(engine)):
        return "keys have limits or budgets"
    if list_teams(engine):
        return "teams have balances"
    return None
