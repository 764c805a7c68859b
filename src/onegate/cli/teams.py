"""`onegate teams`: teams share a balance, model groups and limits. Money moves with an audit trail.
Here or on a remote server (`onegate --server URL --token T teams …`); the logic is in onegate.manage.teams."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from onegate.accounting.money import format_amount
from onegate.apikeys import parse_duration
from onegate.cli.backend import backend, run
from onegate.cli.common import Actor, ConfigPath, DataDir, fail, print_table, settings_or_exit
from onegate.manage.teams import BalanceChangeIn, TeamCreate, TeamUpdate, TeamView

app = typer.Typer(help="Teams: a shared balance, model groups and rate limits for their keys.", no_args_is_help=True)

Groups = Annotated[
    str | None, typer.Option("--groups", help="Comma-separated model groups (config model_groups) it may use.")
]
Rpm = Annotated[int | None, typer.Option("--rpm", help="Requests per minute, across its keys.")]
Tpm = Annotated[int | None, typer.Option("--tpm", help="Tokens per minute, across its keys.")]
Concurrent = Annotated[int | None, typer.Option("--concurrent", help="Requests in flight at once.")]
Note = Annotated[str | None, typer.Option("--note", help="Why: kept in the audit trail.")]


def _groups(text: str | None) -> list[str] | None:
    return None if text is None else [g.strip() for g in text.split(",") if g.strip()]


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
    api = backend(lambda: settings_or_exit(data_dir, config))
    spec = TeamCreate(name=name, model_groups=_groups(groups), rpm=rpm, tpm=tpm, concurrent=concurrent)
    team = run(lambda: api.create_team(spec))
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
    clear = ["model_groups"] if all_models else []
    clear += [field for field, value in (("rpm", rpm), ("tpm", tpm), ("concurrent", concurrent)) if value == 0]
    spec = TeamUpdate(
        status=("disabled" if disable else "active") if disable or enable else None,
        model_groups=_groups(groups) if not all_models else None,
        rpm=rpm or None,
        tpm=tpm or None,
        concurrent=concurrent or None,
        clear=clear,
    )
    if spec == TeamUpdate():
        fail("nothing to change; see onegate teams set --help")
    api = backend(lambda: settings_or_exit(data_dir, config))
    team = run(lambda: api.update_team(run(lambda: api.team_id(name)), spec))
    typer.echo(f"team {team.name}: {_describe(team)}")


def _money(
    kind: str, name: str, amount: str, note: str | None, by: str | None, data_dir: Path | None, config: Path | None
) -> None:
    api = backend(lambda: settings_or_exit(data_dir, config), by)
    team_id = run(lambda: api.team_id(name))
    change = run(lambda: api.change_balance(team_id, BalanceChangeIn(kind=kind, amount=amount, note=note)))
    typer.echo(
        f"{kind} {format_amount(change.amount_micros)} for team {name}: balance now "
        f"{format_amount(change.balance_micros)} (entry {change.entry_id})"
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


def _describe(team: TeamView) -> str:
    groups = ", ".join(team.model_groups) if team.model_groups is not None else "every model"
    return (
        f"{team.status}; models: {groups}; rpm {_limit(team.rpm)}, tpm {_limit(team.tpm)}, "
        f"in flight {_limit(team.concurrent)}"
    )


@app.command("list")
def list_(data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Every team with its balance."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    rows = [("ID", "NAME", "STATUS", "BALANCE", "MODEL GROUPS")]
    for t in run(api.list_teams):
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
    api = backend(lambda: settings_or_exit(data_dir, config))
    report = run(lambda: api.show_team(run(lambda: api.team_id(name)), time.time() - parse_duration(since)))
    team = report.team
    typer.echo(f"team {team.name} (id {team.id}): {_describe(team)}")
    typer.echo(f"balance  {format_amount(team.balance_micros)}")
    typer.echo(f"spent    {format_amount(report.spent_micros)} in {report.requests} requests, last {since}")
    for title, lines in (("by model", report.by_model), ("by key", report.by_key)):
        if lines:
            typer.echo(f"\n{title}:")
            table = [(x.name, str(x.requests), format_amount(x.spent_micros)) for x in lines]
            print_table([("", "REQUESTS", "SPENT"), *table])
    if report.history:
        typer.echo("\nbalance changes (newest first):")
        rows = [("WHEN (UTC)", "KIND", "AMOUNT", "BALANCE AFTER", "BY", "NOTE")]
        for h in report.history:
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(h.created_at))
            after = format_amount(h.balance_after) if h.balance_after is not None else "-"
            rows.append((when, h.kind, format_amount(h.amount_micros), after, h.actor or "-", h.note or ""))
        print_table(rows)
