"""`onegate serve` itself, and the store helpers every command shares, without typer.

Typer builds a pydantic adapter for every option; with typer and pydantic imported that was about a fifth of
what `serve` imported before its first request. So `onegate serve` with plain options is parsed here (the
entry point's fast path) and typer is only loaded for everything else (`--help`, a bad value, other commands),
which then calls the same `serve` below.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from onegate.settings import Settings

# `onegate serve`'s options: flag → (environment variable, keyword, type). Typer's `serve` names the same ones.
SERVE_OPTIONS: dict[str, tuple[str, str, type]] = {
    "--host": ("ONEGATE_HOST", "host", str),
    "--port": ("ONEGATE_PORT", "port", int),
    "--workers": ("ONEGATE_WORKERS", "workers", int),
    "--data-dir": ("ONEGATE_DATA_DIR", "data_dir", Path),
    "--config": ("ONEGATE_CONFIG", "config", Path),
}


def parse_serve(args: list[str]) -> dict[str, Any] | None:
    """`serve`'s options from `args` (after `serve`) and the environment; None: leave it to typer (it explains)."""
    given: dict[str, str] = {}
    rest = iter(args)
    for arg in rest:
        flag, eq, value = arg.partition("=")
        if flag not in SERVE_OPTIONS or flag in given:
            return None
        if not eq:
            value = next(rest, "")
            if not value or value.startswith("-"):
                return None
        given[flag] = value
    options: dict[str, Any] = {"workers": 1}
    for flag, (envvar, keyword, kind) in SERVE_OPTIONS.items():
        raw = given.get(flag) or os.environ.get(envvar)  # as click: an empty variable is unset
        if not raw:
            continue
        try:
            options[keyword] = kind(raw)
        except ValueError:
            return None
    return options if options["workers"] >= 1 else None


def settings_or_exit(data_dir: Path | None, config: Path | None, **overrides: object) -> Settings:
    from onegate.settings import ConfigError, load_settings

    try:
        return load_settings(data_dir=data_dir, config_path=config, **overrides)  # type: ignore[arg-type]
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


SERVING_FILE = "serving.json"  # in the data dir: where `onegate serve` listens, for the other commands to print


def record_serving(settings: Settings) -> None:
    """Note the address this server answers on, so `keys create` and `setup` print one that works."""
    from onegate.store.private import private_dir, write_private

    record = {"pid": os.getpid(), "root": settings.root_url}
    write_private(private_dir(settings.data_dir) / SERVING_FILE, json.dumps(record).encode())


def open_store(settings: Settings) -> Engine:
    from onegate.store.db import open_engine
    from onegate.store.migrations import migrate

    engine = open_engine(settings.database_url)
    migrate(engine)
    return engine


def serve(
    host: str | None = None,
    port: int | None = None,
    workers: int = 1,
    data_dir: Path | None = None,
    config: Path | None = None,
) -> None:
    """Serve the OpenAI-compatible API (and the others) on HOST:PORT."""
    from onegate.server import uvicorn_core

    if workers == 1:  # this process serves (the supervisor of several workers serves nothing: left as it is)
        # No cyclic garbage collection until the app has started (`app.tune_gc` turns it back on): the imports
        # below create ~100,000 long-lived objects, and the collector walked them again and again while they
        # were made (callgrind: 74 M of 1,788 M instructions from spawn to the first answer). They hold almost
        # no garbage (~800 objects, which the freeze then keeps).
        gc.disable()
        uvicorn_core.without_cli()
    from onegate.app import create_app
    from onegate.server.serving import uvicorn_options

    settings = settings_or_exit(data_dir, config, host=host, port=port)
    # One process on a SQLite database that is ready: SQLAlchemy is not imported before the first answer
    first_key = None if workers == 1 and _ready_sqlite(settings.database_url) else _prepare_store(settings, workers)
    record_serving(settings)
    print(f"onegate: data in {settings.data_dir}, database {settings.database_url.split('://')[0]}")
    print(f"onegate: base URL for OpenAI-style clients: {settings.base_url}")
    if not settings.public_url:
        print(
            "onegate: tip: set server.public_url (or ONEGATE_PUBLIC_URL) to the address clients use; until then "
            "links and error messages name the Host header each request sent"
        )
    if first_key:
        print(f"onegate: no keys yet, so one was created (shown only now): {first_key}")
        print(
            f"onegate: try it: curl {settings.base_url}/chat/completions -H 'Authorization: Bearer {first_key}' "
            f'-H \'Content-Type: application/json\' -d \'{{"model":"{settings.selftest_model}",'
            f'"messages":[{{"role":"user","content":"hi"}}]}}\''
        )
    sys.stdout.flush()
    if workers > 1:
        # each worker builds its app from the same settings, passed down through the environment
        os.environ["ONEGATE_DATA_DIR"] = str(settings.data_dir)
        if settings.config_path is not None:
            os.environ["ONEGATE_CONFIG"] = str(settings.config_path)
    if workers > 1:
        import uvicorn

        uvicorn.run("onegate.app:app_from_environment", factory=True, **uvicorn_options(settings, workers))
    else:
        uvicorn_core.run(create_app(settings), **uvicorn_options(settings, workers))


def _ready_sqlite(database_url: str) -> bool:
    """A SQLite database at the latest schema version, with a key: nothing to migrate or create."""
    from onegate.store import quickread

    with quickread.current(database_url) as conn:
        return conn is not None and quickread.has_keys(conn)


def _prepare_store(settings: Settings, workers: int) -> str | None:
    """Migrate (once, before any worker starts), refuse what several workers would count apart, and create
    the first key if there is none; returns that key."""
    from onegate.store.keys import create_key, list_keys

    engine = open_store(settings)
    counted = _counted(settings, engine) if workers > 1 and not settings.redis_url else None
    if counted:
        engine.dispose()
        print(
            f"onegate: --workers {workers} needs redis_url: {counted}, and each worker would count them in its own "
            f"memory, allowing {workers}× as much. Set redis_url in the config (or ONEGATE_REDIS_URL), or serve "
            "with one worker.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    first_key = None
    if not list_keys(engine):
        _, first_key = create_key(engine, "first-key")
    engine.dispose()
    return first_key


def _counted(settings: Settings, engine: Engine) -> str | None:
    """What limits or money this setup counts (prices, rate limits, budgets, team balances); None: nothing."""
    from onegate.settings import LimitsConfig, PriceConfig
    from onegate.store.keys import list_keys
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
