"""`onegate serve`: start the gateway."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from onegate.cli.common import ConfigPath, DataDir, open_store, record_serving, settings_or_exit
from onegate.store.keys import create_key, list_keys


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
    if workers > 1 and not settings.redis_url:
        typer.secho(
            "onegate: warning: without redis_url each worker counts limits, budgets and reservations on its own",
            fg="yellow",
            err=True,
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
