"""`onegate keys`: create, list and disable virtual keys. Works while the server runs."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from onegate.accounting.money import format_amount, parse_amount
from onegate.accounting.periods import PERIODS
from onegate.apikeys import parse_duration
from onegate.cli.common import (
    ConfigPath,
    DataDir,
    announce,
    fail,
    open_store,
    print_table,
    served_root,
    settings_or_exit,
)
from onegate.store.keys import KeyNotFound, KeyOptions, create_key, find_key, list_keys, set_key_status
from onegate.store.teams import TeamError, get_team, list_teams

app = typer.Typer(help="Virtual keys: one per person or service.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who or what the key is for.")],
    models: Annotated[str | None, typer.Option("--models", help="Comma-separated models it may use.")] = None,
    expires: Annotated[str | None, typer.Option("--expires", help="Lifetime, e.g. 30d, 12h.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="The team whose balance it spends.")] = None,
    budget: Annotated[str | None, typer.Option("--budget", help="Spend allowed per period, e.g. 5 or 2.5.")] = None,
    period: Annotated[str, typer.Option("--budget-period", help="daily, weekly or monthly (UTC).")] = "monthly",
    rpm: Annotated[int | None, typer.Option("--rpm", help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="Tokens per minute.")] = None,
    concurrent: Annotated[int | None, typer.Option("--concurrent", help="Requests in flight at once.")] = None,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    settings = settings_or_exit(data_dir, config)
    engine = open_store(settings)
    allowed = [m.strip() for m in models.split(",") if m.strip()] if models else None
    expires_at = time.time() + parse_duration(expires) if expires else None
    if period not in PERIODS:
        fail(f"--budget-period must be one of {', '.join(PERIODS)}")
    try:
        team_id = get_team(engine, team).id if team else None
        budget_micros = parse_amount(budget) if budget else None
    except (TeamError, ValueError) as exc:
        fail(str(exc))
    options = KeyOptions(team_id, budget_micros, period if budget else None, rpm, tpm, concurrent)
    record, plain = create_key(engine, name, allowed, expires_at, options=options)
    typer.echo(plain)
    typer.secho(
        f"key {record.id} ({name}) created. This is the only time the key is shown: store it now.\n"
        f"Base URL for OpenAI-style clients: {served_root(settings)}/api/v1",
        err=True,
    )


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(epoch)) if epoch else "never"


@app.command("list")
def list_(data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """List keys, masked."""
    now = time.time()
    engine = open_store(settings_or_exit(data_dir, config))
    teams = {t.id: t.name for t in list_teams(engine)}
    rows = [("ID", "NAME", "KEY", "STATUS", "TEAM", "BUDGET", "MODELS", "EXPIRES (UTC)")]
    for k in list_keys(engine):
        status = "expired" if k.status == "active" and k.expired(now) else k.status
        team = teams.get(k.team_id, "?") if k.team_id is not None else "-"
        budget = f"{format_amount(k.budget_micros)}/{k.budget_period}" if k.budget_micros is not None else "-"
        models = ",".join(k.models) if k.models else "*"
        rows.append((str(k.id), k.name, k.mask, status, team, budget, models, _when(k.expires_at)))
    print_table(rows)


def _set_status(id_or_name: str, status: str, data_dir: DataDir, config: ConfigPath) -> None:
    settings = settings_or_exit(data_dir, config)
    try:
        record = set_key_status(open_store(settings), id_or_name, status)
    except KeyNotFound as exc:
        fail(str(exc))
    announce(settings, "keys")
    typer.echo(f"key {record.id} ({record.name}, {record.mask}) is now {record.status}")


@app.command("disable")
def disable(
    id_or_name: Annotated[str, typer.Argument(metavar="ID")], data_dir: DataDir = None, config: ConfigPath = None
) -> None:
    """Disable a key; every running instance refuses it within a second."""
    _set_status(id_or_name, "disabled", data_dir, config)


@app.command("enable")
def enable(
    id_or_name: Annotated[str, typer.Argument(metavar="ID")], data_dir: DataDir = None, config: ConfigPath = None
) -> None:
    """Enable a disabled key again."""
    _set_status(id_or_name, "active", data_dir, config)


@app.command("webhook-secret")
def webhook_secret(
    id_or_name: Annotated[str, typer.Argument(metavar="ID")],
    url: Annotated[str | None, typer.Option("--url", help="Default callback URL for this key's video tasks.")] = None,
    clear_url: Annotated[bool, typer.Option("--clear-url", help="Remove the key's default callback URL.")] = False,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Create or rotate the key's callback signing secret (Standard Webhooks `whsec_…`) and print it once."""
    from onegate.media.webhooks import check_url, rotate_secret

    engine = open_store(settings_or_exit(data_dir, config))
    try:
        record = find_key(engine, id_or_name)
        if url is not None:
            check_url(url)
    except (KeyNotFound, ValueError) as exc:
        fail(str(exc))
    secret = rotate_secret(engine, record.id, None if clear_url else url, keep_url=not clear_url)
    typer.echo(secret)
    typer.secho(
        f"callback signing secret of key {record.id} ({record.name}) set. It is shown only now: give it to the "
        "receiver, which verifies webhook-signature with it (any Standard Webhooks library). The previous "
        "secret, if any, no longer signs.",
        err=True,
    )
