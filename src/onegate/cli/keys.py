"""`onegate keys`: create, list, change, rotate and delete virtual keys, here or on a remote server
(`onegate --server URL --token T keys …`). The logic lives in onegate.manage.keys."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from onegate.accounting.periods import PERIODS
from onegate.apikeys import parse_duration
from onegate.cli.backend import backend, remote, run
from onegate.cli.common import ConfigPath, DataDir, fail, print_table, served_root, settings_or_exit
from onegate.manage.callbacks import WebhookSecretIn
from onegate.manage.keys import KeyCreate, KeyUpdate, KeyView

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
    if period not in PERIODS:
        fail(f"--budget-period must be one of {', '.join(PERIODS)}")
    api = backend(lambda: settings_or_exit(data_dir, config))
    allowed = [m.strip() for m in models.split(",") if m.strip()] if models else None
    spec = KeyCreate(
        name=name,
        models=allowed,
        expires_at=time.time() + parse_duration(expires) if expires else None,
        team_id=run(lambda: api.team_id(team)) if team else None,
        budget=budget,
        budget_period=period,
        rpm=rpm,
        tpm=tpm,
        concurrent=concurrent,
    )
    created = run(lambda: api.create_key(spec))
    typer.echo(created.secret)
    target = remote()
    where = (target.server if target else served_root(settings_or_exit(data_dir, config))) + "/api/v1"
    typer.secho(
        f"key {created.key.id} ({name}) created. This is the only time the key is shown: store it now.\n"
        f"Base URL for OpenAI-style clients: {where}",
        err=True,
    )


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(epoch)) if epoch else "never"


@app.command("list")
def list_(
    search: Annotated[str | None, typer.Option("--search", help="Name contains, or the last four characters.")] = None,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """List keys, masked."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    team_names = {t.id: t.name for t in run(api.list_teams)}
    rows = [("ID", "NAME", "KEY", "STATUS", "TEAM", "BUDGET", "MODELS", "EXPIRES (UTC)")]
    cursor: str | None = None
    while True:
        page = run(api.list_keys, search, cursor, 200)
        for k in page.items:
            team = team_names.get(k.team_id, "?") if k.team_id is not None else "-"
            budget = f"{k.budget}/{k.budget_period}" if k.budget is not None else "-"
            models = ",".join(k.models) if k.models else "*"
            rows.append((str(k.id), k.name, k.mask, k.status, team, budget, models, _when(k.expires_at)))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    print_table(rows)


def _describe(k: KeyView) -> str:
    return f"key {k.id} ({k.name}, {k.mask}) is now {k.status}"


def _update(id_or_name: str, spec: KeyUpdate, data_dir: DataDir, config: ConfigPath) -> None:
    api = backend(lambda: settings_or_exit(data_dir, config))
    key_id = run(lambda: api.key_id(id_or_name))
    typer.echo(_describe(run(lambda: api.update_key(key_id, spec))))


ID = Annotated[str, typer.Argument(metavar="ID", help="The key's id (or its unique name).")]


@app.command("disable")
def disable(id_or_name: ID, data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Disable a key; every running instance refuses it within a second."""
    _update(id_or_name, KeyUpdate(status="disabled"), data_dir, config)


@app.command("enable")
def enable(id_or_name: ID, data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Enable a disabled key again."""
    _update(id_or_name, KeyUpdate(status="active"), data_dir, config)


@app.command("webhook-secret")
def webhook_secret(
    id_or_name: Annotated[str, typer.Argument(metavar="ID")],
    url: Annotated[str | None, typer.Option("--url", help="Default callback URL for this key's video tasks.")] = None,
    clear_url: Annotated[bool, typer.Option("--clear-url", help="Remove the key's default callback URL.")] = False,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Create or rotate the key's callback signing secret (Standard Webhooks `whsec_…`) and print it once."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    key_id = run(lambda: api.key_id(id_or_name))
    made = run(lambda: api.webhook_secret(key_id, WebhookSecretIn(callback_url=url, clear_url=clear_url)))
    typer.echo(made.secret)
    typer.secho(
        f"callback signing secret of key {key_id} set (default callback URL: {made.callback_url or 'none'}). It is "
        "shown only now: give it to the receiver, which verifies webhook-signature with it (any Standard Webhooks "
        "library). The previous secret, if any, no longer signs.",
        err=True,
    )


@app.command("set")
def set_(
    id_or_name: ID,
    models: Annotated[str | None, typer.Option("--models", help="Comma-separated; '*' for every model.")] = None,
    budget: Annotated[str | None, typer.Option("--budget", help="Per period; 'none' to drop it.")] = None,
    period: Annotated[str | None, typer.Option("--budget-period")] = None,
    expires: Annotated[str | None, typer.Option("--expires", help="From now, e.g. 30d; 'never'.")] = None,
    rpm: Annotated[int | None, typer.Option("--rpm")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm")] = None,
    concurrent: Annotated[int | None, typer.Option("--concurrent")] = None,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Change a key's models, budget, expiry or limits."""
    clear = []
    if models == "*":
        clear.append("models")
    if budget == "none":
        clear.append("budget")
    if expires == "never":
        clear.append("expires_at")
    spec = KeyUpdate(
        models=[m.strip() for m in models.split(",")] if models and models != "*" else None,
        budget=budget if budget != "none" else None,
        budget_period=period,
        expires_at=time.time() + parse_duration(expires) if expires and expires != "never" else None,
        rpm=rpm,
        tpm=tpm,
        concurrent=concurrent,
        clear=clear,
    )
    _update(id_or_name, spec, data_dir, config)


@app.command("rotate")
def rotate(
    id_or_name: ID,
    grace: Annotated[str, typer.Option("--grace", help="How long the old key keeps working, e.g. 24h, 0.")] = "24h",
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """A new secret with the same settings; the old key expires after the grace period."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    key_id = run(lambda: api.key_id(id_or_name))
    rotated = run(lambda: api.rotate_key(key_id, parse_duration(grace)))
    typer.echo(rotated.secret)
    typer.secho(
        f"key {rotated.key.id} replaces key {key_id}, which works until {_when(rotated.old_key.expires_at)} UTC. "
        "This is the only time the new key is shown.",
        err=True,
    )


@app.command("delete")
def delete(id_or_name: ID, data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Delete a key (its log rows stay, with its mask)."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    key_id = run(lambda: api.key_id(id_or_name))
    gone = run(lambda: api.delete_key(key_id))
    typer.echo(f"key {gone.id} ({gone.name}, {gone.mask}) deleted")
