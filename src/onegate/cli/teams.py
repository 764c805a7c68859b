"""`onegate teams`: teams share a balance, model groups and limits. Money moves with an audit trail."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from onegate.accounting.money import format_amount, parse_amount
from onegate.apikeys import parse_duration
from onegate.cli.common import (
    Actor,
    ConfigPath,
    DataDir,
    announce,
    default_actor,
    fail,
    open_store,
    print_table,
    settings_or_exit,
)
from onegate.settings import Settings
from onegate.store.ledger import spend_report
from onegate.store.teams import TeamError, TeamRecord, change_balance, create_team, get_team, list_teams, update_team

app = typer.Typer(help="Teams: a shared balance, model groups and rate limits for their keys.", no_args_is_help=True)

Groups = Annotated[
    str | None, typer.Option("--groups", help="Comma-separated model groups (config model_groups) it may use.")
]
Rpm = Annotated[int | None, typer.Option("--rpm", help="Requests per minute, across its keys.")]
Tpm = Annotated[int | None, typer.Option("--tpm", help="Tokens per minute, across its keys.")]
Concurrent = Annotated[int | None, typer.Option("--concurrent", help="Requests in flight at once.")]
Note = Annotated[str | None, typer.Option("--note", help="Why: kept in the audit trail.")]


def _groups(settings: Settings, text: str | None) -> list[str] | None:
    if text is None:
        return None
    groups = [g.strip() for g in text.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(settings.model_groups))
    if unknown:
        known = ", ".join(sorted(settings.model_groups)) or "none configured"
        fail(f"unknown model groups: {', '.join(unknown)} (known: {known})")
    return groups


@app.command("create")
def create(
    name: str,
    groups: Groups = None,
    rpm: Rpm = None,
    tpm: Tpm = None,
    concurrent: Concurrent = None,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Create a team with a zero balance."""
    settings = settings_or_exit(data_dir, config)
    try:
        team = create_team(open_store(settings), name, _groups(settings, groups), rpm, tpm, concurrent)
    except TeamError as exc:
        fail(str(exc))
    announce(settings, "teams")
    typer.echo(f"team {team.id} ({team.name}) created; top it up with: onegate teams topup {team.name} AMOUNT")


@app.command("set")
def set_(
    name: str,
    groups: Groups = None,
    all_models: Annotated[bool, typer.Option("--all-models", help="Drop the model groups: every model.")] = False,
    rpm: Rpm = None,
    tpm: Tpm = None,
    concurrent: Concurrent = None,
    disable: Annotated[bool, typer.Option("--disable", help="Refuse every key of the team.")] = False,
    enable: Annotated[bool, typer.Option("--enable")] = False,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Change a team's model groups, limits (0 = back to the default) or status."""
    settings = settings_or_exit(data_dir, config)
    changes: dict[str, object] = {}
    if groups is not None or all_models:
        changes["model_groups"] = None if all_models else _groups(settings, groups)
    for field, value in (("rpm", rpm), ("tpm", tpm), ("concurrent", concurrent)):
        if value is not None:
            changes[field] = value or None
    if disable or enable:
        changes["status"] = "disabled" if disable else "active"
    if not changes:
        fail("nothing to change; see onegate teams set --help")
    try:
        team = update_team(open_store(settings), name, **changes)
    except TeamError as exc:
        fail(str(exc))
    announce(settings, "teams")
    typer.echo(f"team {team.name}: {_describe(team)}")


def _money(
    kind: str, name: str, amount: str, note: str | None, by: str | None, data_dir: Path | None, config: Path | None
) -> None:
    settings = settings_or_exit(data_dir, config)
    try:
        micros = parse_amount(amount)
        change = change_balance(open_store(settings), name, kind, micros, by or default_actor(), note)
    except (ValueError, TeamError) as exc:
        fail(str(exc))
    announce(settings, "teams")
    currency = settings.accounting.currency
    typer.echo(
        f"{kind} {format_amount(change.amount_micros, currency)} for team {name}: balance now "
        f"{format_amount(change.balance_after, currency)} (entry {change.entry_id})"
    )


@app.command("topup")
def topup(
    name: str, amount: str, note: Note = None, by: Actor = None, data_dir: DataDir = None, config: ConfigPath = None
) -> None:
    """Add AMOUNT (currency units, e.g. 12.5) to the team's balance."""
    _money("topup", name, amount, note, by, data_dir, config)


@app.command("adjust", context_settings={"ignore_unknown_options": True})  # "-3" is an amount
def adjust(
    name: str,
    amount: Annotated[str, typer.Argument(help="Signed: -3 takes 3 away.")],
    note: Note = None,
    by: Actor = None,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Correct the balance by a signed AMOUNT (a mistake, a goodwill credit)."""
    _money("adjust", name, amount, note, by, data_dir, config)


@app.command("refund")
def refund(
    name: str, amount: str, note: Note = None, by: Actor = None, data_dir: DataDir = None, config: ConfigPath = None
) -> None:
    """Give AMOUNT back (say which requests in --note)."""
    _money("refund", name, amount, note, by, data_dir, config)


def _limit(value: int | None) -> str:
    return str(value) if value else "default"


def _describe(team: TeamRecord) -> str:
    groups = ", ".join(team.model_groups) if team.model_groups is not None else "every model"
    return (
        f"{team.status}; models: {groups}; rpm {_limit(team.rpm)}, tpm {_limit(team.tpm)}, "
        f"in flight {_limit(team.concurrent)}"
    )


@app.command("list")
def list_(data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Every team with its balance."""
    settings = settings_or_exit(data_dir, config)
    rows = [("ID", "NAME", "STATUS", f"BALANCE ({settings.accounting.currency})", "MODEL GROUPS")]
    for t in list_teams(open_store(settings)):
        groups = ",".join(t.model_groups) if t.model_groups is not None else "*"
        rows.append((str(t.id), t.name, t.status, format_amount(t.balance_micros), groups))
    print_table(rows)


@app.command("show")
def show(
    name: str,
    since: Annotated[str, typer.Option("--since", help="Spend over this long, e.g. 24h, 30d.")] = "30d",
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Balance, spend by model and by key, and the audit trail of balance changes."""
    settings = settings_or_exit(data_dir, config)
    engine = open_store(settings)
    currency = settings.accounting.currency
    try:
        team = get_team(engine, name)
    except TeamError as exc:
        fail(str(exc))
    report = spend_report(engine, team.id, time.time() - parse_duration(since))
    typer.echo(f"team {team.name} (id {team.id}): {_describe(team)}")
    typer.echo(f"balance  {format_amount(team.balance_micros, currency)}")
    typer.echo(f"spent    {format_amount(report.total_micros, currency)} in {report.requests} requests, last {since}")
    for title, lines in (("by model", report.by_model), ("by key", report.by_key)):
        if lines:
            typer.echo(f"\n{title}:")
            print_table([("", "REQUESTS", currency)] + [(n, str(c), format_amount(m)) for n, c, m in lines])
    if report.history:
        typer.echo("\nbalance changes (newest first):")
        rows = [("WHEN (UTC)", "KIND", "AMOUNT", "BALANCE AFTER", "BY", "NOTE")]
        for h in report.history:
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(h["created_at"]))
            after = format_amount(h["balance_after"]) if h["balance_after"] is not None else "-"
            rows.append((when, h["kind"], format_amount(h["amount_micros"]), after, h["actor"] or "-", h["note"] or ""))
        print_table(rows)
