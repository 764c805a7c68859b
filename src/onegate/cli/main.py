"""The `onegate` command."""

from __future__ import annotations

import typer

from onegate.cli import channels, doctor, evidence, keys, logs, prices, serve, setup, teams

app = typer.Typer(
    help="onegate: one OpenAI-compatible gateway for every AI client.", no_args_is_help=True, add_completion=False
)
app.command("serve")(serve.serve)
app.add_typer(keys.app, name="keys")
app.add_typer(logs.app, name="logs")
app.add_typer(teams.app, name="teams")
app.add_typer(prices.app, name="prices")
app.add_typer(channels.app, name="channels")
app.command("setup")(setup.setup)
app.command("doctor")(doctor.doctor)
app.command("evidence")(evidence.evidence)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
