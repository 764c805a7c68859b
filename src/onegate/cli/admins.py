"""`onegate admins`: accounts for the management API and console (owner, operator, viewer, team_admin).
The token is printed once; only its hash is stored. `onegate admins audit` reads the audit trail."""

from __future__ import annotations

import time
from typing import Annotated

import orjson
import typer

from onegate.cli.backend import backend, run
from onegate.cli.common import ConfigPath, DataDir, print_table, settings_or_exit
from onegate.manage.admins import AdminCreate, AdminUpdate

app = typer.Typer(help="Admin accounts for the management API and the console.", no_args_is_help=True)


@app.command("create")
def create(
    name: str,
    role: Annotated[str, typer.Option("--role", help="owner, operator, viewer or team_admin.")],
    team: Annotated[str | None, typer.Option("--team", help="team_admin: the team (name or id).")] = None,
    can_topup: Annotated[bool, typer.Option("--can-topup", help="team_admin: may move money.")] = False,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Create an admin and print its token once."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    team_id = run(lambda: api.team_id(team)) if team else None
    created = run(lambda: api.create_admin(AdminCreate(name=name, role=role, team_id=team_id, can_topup=can_topup)))
    typer.echo(created.token)
    typer.secho(
        f"admin {created.admin.id} ({name}, {role}) created. This is the only time the token is shown.", err=True
    )


@app.command("list")
def list_(data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Every admin account."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    rows = [("ID", "NAME", "ROLE", "TEAM", "TOP-UP", "TOKEN", "STATUS")]
    for a in run(api.list_admins):
        team = str(a.team_id) if a.team_id is not None else "-"
        rows.append((str(a.id), a.name, a.role, team, "yes" if a.can_topup else "-", a.mask, a.status))
    print_table(rows)


@app.command("disable")
def disable(admin_id: int, data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Disable an admin account (its sessions end at once)."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    admin = run(lambda: api.update_admin(admin_id, AdminUpdate(status="disabled")))
    typer.echo(f"admin {admin.id} ({admin.name}) is now {admin.status}")


@app.command("delete")
def delete(admin_id: int, data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Delete an admin account."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    admin = run(lambda: api.delete_admin(admin_id))
    typer.echo(f"admin {admin.id} ({admin.name}) deleted")


@app.command("audit")
def audit(
    limit: Annotated[int, typer.Option("--limit")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """The audit trail of management actions, newest first."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    page = run(lambda: api.audit(None, limit))
    if as_json:
        import msgspec

        typer.echo(orjson.dumps(msgspec.to_builtins(page.items), option=orjson.OPT_INDENT_2).decode())
        return
    rows = [("WHEN (UTC)", "WHO", "ROLE", "ACTION", "TARGET")]
    for e in page.items:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.created_at))
        rows.append((when, e.actor, e.role, e.action, e.target or "-"))
    print_table(rows)
