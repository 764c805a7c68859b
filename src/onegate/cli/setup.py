"""`onegate setup CLIENT`: print the configuration guide for one client, from this server's config."""

from __future__ import annotations

from typing import Annotated

import typer

from onegate.cli.common import ConfigPath, DataDir, open_store, served_root, settings_or_exit
from onegate.providers.registry import ModelRegistry
from onegate.server.routes import API_ROUTES
from onegate.setup.guides import CLIENTS, UnknownClient, build_guide
from onegate.setup.inputs import guide_input_for
from onegate.setup.render import as_json, as_text
from onegate.store.keys import list_keys


def setup(
    client: Annotated[str, typer.Argument(help=f"One of: {', '.join(CLIENTS)}.")],
    key_id: Annotated[int | None, typer.Option("--key-id", help="Tailor the guide to this key's models.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
    public_url: Annotated[
        str | None, typer.Option("--public-url", help="The address users reach this server at (https://HOST).")
    ] = None,
    as_json_: Annotated[bool, typer.Option("--json", help="Print the guide as JSON.")] = False,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Print a setup guide: the fields to fill in, files to write and a one-line test command."""
    settings = settings_or_exit(data_dir, config)
    key = None
    if key_id is not None:
        key = next((k for k in list_keys(open_store(settings)) if k.id == key_id), None)
        if key is None:
            typer.secho(f"no key with id {key_id} (onegate keys list shows them)", fg="red", err=True)
            raise typer.Exit(1)
    root = public_url or served_root(settings)
    if not public_url and not settings.public_url:
        typer.secho(
            f"note: no public URL is configured, so the guide uses {root}; pass --public-url https://HOST "
            "(or set server.public_url / ONEGATE_PUBLIC_URL) for the address your users reach.",
            fg="yellow",
            err=True,
        )
    names = ModelRegistry.from_settings(settings).chat_names
    served = frozenset(suffix for _, suffix in API_ROUTES)
    try:
        guide = build_guide(client, guide_input_for(root, names, key, lang, served))
    except UnknownClient as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(as_json(guide).decode() if as_json_ else as_text(guide))
