"""`onegate evidence REQUEST_ID`: the evidence record of one request, from the server's request log."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from onegate.cli.backend import backend, run
from onegate.cli.common import ConfigPath, DataDir, settings_or_exit
from onegate.i18n.catalog import normalise_lang


def evidence(
    request_id: Annotated[str, typer.Argument(help="The x-request-id a user reports (req_…).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Print what support needs about one request: who, what, when, status, error text, the diagnosis."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    found = run(lambda: api.log_detail(request_id.strip(), normalise_lang(lang)))
    typer.echo(
        orjson.dumps(found.evidence, option=orjson.OPT_INDENT_2).decode() if as_json else found.evidence_markdown
    )
