"""The `onegate` command as a typer app: each command's module is imported only when that command runs."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

# name → (module in onegate.cli, attribute, a group of subcommands or a single command)
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "serve": ("serve", "serve", False),
    "keys": ("keys", "app", True),
    "logs": ("logs", "app", True),
    "teams": ("teams", "app", True),
    "prices": ("prices", "app", True),
    "channels": ("channels", "app", True),
    "tasks": ("tasks", "app", True),
    "setup": ("setup", "setup", False),
    "doctor": ("doctor", "doctor", False),
    "evidence": ("evidence", "evidence", False),
    "admins": ("admins", "app", True),
}


def build_app(names: list[str]) -> typer.Typer:
    app = typer.Typer(
        help="onegate: one OpenAI-compatible gateway for every AI client.", no_args_is_help=True, add_completion=False
    )

    @app.callback()
    def _root(
        server: Annotated[
            str | None,
            typer.Option("--server", envvar="ONEGATE_SERVER", help="Manage this remote onegate (https://HOST)."),
        ] = None,
        token: Annotated[
            str | None, typer.Option("--token", envvar="ONEGATE_TOKEN", help="Its admin token, with --server.")
        ] = None,
    ) -> None:
        """onegate: one OpenAI-compatible gateway for every AI client."""  # keeps subcommand names required
        # `serve` must not pay for the management layer's imports: the backend only matters once it is loaded
        # (a command that manages imports it) or a remote server is asked for
        if server or os.environ.get("ONEGATE_SERVER") or "onegate.cli.backend" in sys.modules:
            from onegate.cli.backend import use_remote

            use_remote(server, token)

    for name in names:
        module_name, attribute, is_group = COMMANDS[name]
        target = getattr(importlib.import_module(f"onegate.cli.{module_name}"), attribute)
        if is_group:
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)
    return app
