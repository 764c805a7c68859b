"""`onegate logs`: the request log, newest first, and one request's full row."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

import msgspec
import orjson
import typer

from onegate.apikeys import parse_duration
from onegate.cli.backend import backend, run
from onegate.cli.common import ConfigPath, DataDir, open_store, settings_or_exit
from onegate.manage.logs import LogQuery
from onegate.store.log_queries import prune

app = typer.Typer(help="The request log: one row per request, never prompts or keys.")


def parse_since(text: str) -> float:
    """`15m`, `2h`, `7d` ago, or an ISO date/time."""
    try:
        return time.time() - parse_duration(text)
    except ValueError:
        return datetime.fromisoformat(text).timestamp()


def _fmt_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


@app.callback(invoke_without_command=True)
def list_logs(
    ctx: typer.Context,
    key: Annotated[int | None, typer.Option("--key", help="Key id.")] = None,
    status: Annotated[int | None, typer.Option("--status", help="HTTP status, e.g. 401.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Requested or routed model.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="e.g. 15m, 2h, 7d or 2026-11-01.")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """List recent requests (newest first)."""
    if ctx.invoked_subcommand:
        return
    api = backend(lambda: settings_or_exit(data_dir, config))
    q = LogQuery(key_id=key, status=status, model=model, since=parse_since(since) if since else None, limit=limit)
    rows = [msgspec.to_builtins(item) for item in run(lambda: api.list_logs(q)).items]
    for r in rows:
        tokens = f"{r['input_tokens']}/{r['cached_tokens']}/{r['output_tokens']}"
        error = f"  {r['error_code']}" if r["error_code"] else ""
        typer.echo(
            f"{_fmt_time(r['created_at'])}  {r['request_id']}  {r['status']:>3}  {r['method']:<4} {r['path'][:50]:<50}"
            f"  {r['model_requested'] or '-':<24} {r['key_mask'] or '-':<9} {r['client_name']:<14}"
            f" {r['latency_ms']:>8.1f}ms  tok {tokens}{error}"
        )
    if not rows:
        typer.echo("no requests match", err=True)


def render_row(row: dict[str, Any]) -> str:
    lines = []
    for name, value in row.items():
        if name == "created_at":
            value = f"{_fmt_time(value)} ({value})"
        if value is None or value == "":
            continue
        lines.append(f"{name:<18} {value}")
    return "\n".join(lines)


@app.command("show")
def show(
    request_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print the row as JSON.")] = False,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Print one request's log row."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    found = run(lambda: api.log_detail(request_id.strip(), "en"))
    row = {**msgspec.to_builtins(found.item), "user_agent": found.user_agent, "attempts": found.attempts}
    row.update({"notes": "; ".join(found.notes) or None, "price": found.price})
    if as_json:
        typer.echo(orjson.dumps(row, option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(render_row(row))


@app.command("prune")
def prune_logs(
    older_than: Annotated[str, typer.Option("--older-than", help="e.g. 90d: delete raw rows older than this.")],
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Delete old request-log rows in batches (charts and totals keep them: the rollups stay)."""
    engine = open_store(settings_or_exit(data_dir, config))
    removed = prune(engine, time.time() - parse_duration(older_than))
    typer.echo(f"deleted {removed} request-log rows older than {older_than}")
