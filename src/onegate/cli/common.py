"""Options shared by every command, and the engine they open."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from onegate.settings import ConfigError, Settings, load_settings
from onegate.store.db import open_engine
from onegate.store.migrations import migrate

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="ONEGATE_DATA_DIR", help="Where the SQLite database and spill files live."),
]
ConfigPath = Annotated[
    Path | None, typer.Option("--config", envvar="ONEGATE_CONFIG", help="YAML config file (channels, prices).")
]


def settings_or_exit(data_dir: Path | None, config: Path | None, **overrides: object) -> Settings:
    try:
        return load_settings(data_dir=data_dir, config_path=config, **overrides)  # type: ignore[arg-type]
    except ConfigError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None


def open_store(settings: Settings) -> Engine:
    engine = open_engine(settings.database_url)
    migrate(engine)
    return engine
