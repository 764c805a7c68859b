"""`onegate evidence REQUEST_ID`: the evidence record of one request, from the server's request log."""

from __future__ import annotations

from typing import Annotated

import typer

from onegate.cli.common import ConfigPath, DataDir, open_store, settings_or_exit
from onegate.doctor.evidence import as_markdown, from_log
from onegate.i18n.catalog import normalise_lang
from onegate.store.logs import get_log


def evidence(
    request_id: Annotated[str, typer.Argument(help="The x-request-id a user reports (req_…).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Print what support needs about one request: who, what, when, status, error text, the diagnosis."""
    row = get_log(open_store(settings_or_exit(data_dir, config)), request_id.strip())
    if row is None:
        typer.secho(f"no request with id {request_id} in this server's log", fg="red", err=True)
        raise typer.Exit(1)
    record = from_log(row)
    typer.echo(record.as_json() if as_json else as_markdown(record, normalise_lang(lang)))
