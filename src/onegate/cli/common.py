"""Options shared by every command, and the engine they open."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from onegate.cli.launch import SERVE_OPTIONS
from onegate.cli.launch import SERVING_FILE as SERVING_FILE  # the typer-free helpers, for every command
from onegate.cli.launch import open_store as open_store
from onegate.cli.launch import record_serving as record_serving
from onegate.cli.launch import settings_or_exit as settings_or_exit
from onegate.settings import Settings

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar=SERVE_OPTIONS["--data-dir"][0], help="Where the SQLite database and spill files live."
    ),
]
ConfigPath = Annotated[
    Path | None,
    typer.Option("--config", envvar=SERVE_OPTIONS["--config"][0], help="YAML config file (channels, prices)."),
]


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
