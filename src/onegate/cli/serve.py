"""`onegate serve` for typer (`--help`, values it must explain); the work is `launch.serve`."""

from __future__ import annotations

from typing import Annotated

import typer

from onegate.cli import launch
from onegate.cli.common import ConfigPath, DataDir

_ENV = {flag: envvar for flag, (envvar, _, _) in launch.SERVE_OPTIONS.items()}


def serve(
    host: Annotated[str | None, typer.Option("--host", envvar=_ENV["--host"])] = None,
    port: Annotated[int | None, typer.Option("--port", envvar=_ENV["--port"])] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, envvar=_ENV["--workers"], help="Processes on this machine.")
    ] = 1,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Serve the OpenAI-compatible API (and the others) on HOST:PORT."""
    launch.serve(host, port, workers, data_dir, config)
