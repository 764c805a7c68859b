"""`onegate keys`: create, list and disable virtual keys. Works while the server runs."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from onegate.apikeys import parse_duration
from onegate.cli.common import ConfigPath, DataDir, open_store, settings_or_exit
from onegate.store.keys import KeyNotFound, create_key, list_keys, set_key_status

app = typer.Typer(help="Virtual keys: one per person or service.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who or what the key is for.")],
    models: Annotated[str | None, typer.Option("--models", help="Comma-separated models it may use.")] = None,
    expires: Annotated[str | None, typer.Option("--expires", help="Lifetime, e.g. 30d, 12h.")] = None,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    settings = settings_or_exit(data_dir, config)
    allowed = [m.strip() for m in models.split(",") if m.strip()] if models else None
    expires_at = time.time() + parse_duration(expires) if expires else None
    record, plain = create_key(open_store(settings), name, allowed, expires_at)
    typer.echo(plain)
    typer.secho(
        f"key {record.id} ({name}) created. This is the only time the key is shown: store it now.\n"
        f"Base URL for OpenAI-style clients: {settings.base_url}",
        err=True,
    )


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(epoch)) if epoch else "never"


@app.command("list")
def list_(data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """List keys, masked."""
    now = time.time()
    rows = [("ID", "NAME", "KEY", "STATUS", "MODELS", "EXPIRES (UTC)")]
    for k in list_keys(open_store(settings_or_exit(data_dir, config))):
        status = "expired" if k.status == "active" and k.expired(now) else k.status
        rows.append((str(k.id), k.name, k.mask, status, ",".join(k.models) if k.models else "*", _when(k.expires_at)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def _set_status(id_or_name: str, status: str, data_dir: DataDir, config: ConfigPath) -> None:
    try:
        record = set_key_status(open_store(settings_or_exit(data_dir, config)), id_or_name, status)
    except KeyNotFound as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"key {record.id} ({record.name}, {record.mask}) is now {record.status}")


@app.command("disable")
def disable(
    id_or_name: Annotated[str, typer.Argument(metavar="ID")], data_dir: DataDir = None, config: ConfigPath = None
) -> None:
    """Disable a key; a running server refuses it within a second."""
    _set_status(id_or_name, "disabled", data_dir, config)


@app.command("enable")
def enable(
    id_or_name: Annotated[str, typer.Argument(metavar="ID")], data_dir: DataDir = None, config: ConfigPath = None
) -> None:
    """Enable a disabled key again."""
    _set_status(id_or_name, "active", data_dir, config)
