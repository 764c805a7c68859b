"""Options shared by every command, and the engine they open."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
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


SERVING_FILE = "serving.json"  # in the data dir: where `onegate serve` listens, for the other commands to print


def record_serving(settings: Settings) -> None:
    """Note the address this server answers on, so `keys create` and `setup` print one that works."""
    from onegate.store.private import private_dir, write_private

    record = {"pid": os.getpid(), "root": settings.root_url}
    write_private(private_dir(settings.data_dir) / SERVING_FILE, json.dumps(record).encode())


def served_root(settings: Settings) -> str:
    """`server.public_url`, else the address of the server running on this data dir, else the configured one."""
    if settings.public_url:
        return settings.root_url
    try:
        record = json.loads((settings.data_dir / SERVING_FILE).read_text())
        os.kill(int(record["pid"]), 0)  # that server still runs
        return str(record["root"])
    except (OSError, ValueError, KeyError, TypeError):
        return settings.root_url


def open_store(settings: Settings) -> Engine:
    engine = open_engine(settings.database_url)
    migrate(engine)
    return engine


def default_actor() -> str:
    """Who made a change, for the audit trail: the OS user at this host."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


Actor = Annotated[
    str | None, typer.Option("--by", help="Who makes the change, for the audit trail (default: user@host).")
]


def announce(settings: Settings, topic: str) -> None:
    """Tell running instances to reload `topic` now (over Redis); without Redis they poll each second."""
    if not settings.redis_url:
        return
    from onegate.counters.pubsub import publish_change

    try:
        publish_change(settings.redis_url, settings.redis_prefix, topic)
    except Exception as exc:  # the change is in the database; instances still poll it within seconds
        typer.secho(f"warning: could not notify instances over Redis ({exc})", fg="yellow", err=True)


def fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)


def print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
