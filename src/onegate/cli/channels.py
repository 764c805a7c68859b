"""`onegate channels`: each channel's state, a live test through each, and enabling or disabling by hand.
Here or on a remote server (`onegate --server URL --token T channels …`); the logic is in onegate.manage.channels.

Here, the running server's view comes from Redis when `redis_url` is configured (every instance shares it),
otherwise from the snapshot the server writes into the data dir every `routing.sync_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import msgspec
import orjson
import typer

from onegate.cli.backend import backend, run
from onegate.cli.common import ConfigPath, DataDir, settings_or_exit
from onegate.manage.actor import ManageError
from onegate.manage.channels import ChannelView

app = typer.Typer(help="Channels: state, live tests, enable and disable.", no_args_is_help=True)
T = TypeVar("T")


def _named(action: Callable[[], T]) -> T:
    """Run a call about one channel: an unknown name exits 2 (a usage error), other refusals 1."""
    try:
        return action()
    except ManageError as exc:
        typer.secho(exc.message, fg="red", err=True)
        raise typer.Exit(2 if exc.kind == "not_found" else 1) from None


def _detail(view: ChannelView, now: float) -> str:
    marks: dict[str, Any] = view.marks
    state = view.state
    if state == "open":
        detail = f"open {float(marks['open_until']) - now:.0f} s more"
    elif state == "cooling":
        detail = f"cooling {float(marks['cool_until']) - now:.0f} s more"
    elif state == "disabled":
        detail = f"disabled {marks.get('disabled')}"
    elif state == "half_open":
        detail = "open, probing"
    else:
        detail = ""
    if marks.get("last_error") and state != "healthy":
        detail += f"; last error: {str(marks['last_error'])[:100]}"
    return detail.strip("; ")


@app.command("list")
def list_channels(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Each channel: tier, weight, state (healthy / cooling / open / disabled), recent success and latency."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    views, source = run(api.list_channels)
    if as_json:
        rows = {"source": source, "channels": msgspec.to_builtins(views)}
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not views:
        typer.echo("no channels configured", err=True)
        return
    now = time.time()
    typer.echo(f"{'CHANNEL':<20} {'TIER':>4} {'WEIGHT':>6}  {'STATE':<9} {'SUCCESS':>14} {'LATENCY':>9}  DETAIL")
    for v in views:
        total = v.successes + v.failures
        success = f"{100 * v.successes / total:.0f}% of {total}" if total else "-"
        latency = f"{v.mean_latency_ms:.0f} ms" if v.mean_latency_ms is not None else "-"
        state = "open" if v.state == "half_open" else v.state
        typer.echo(
            f"{v.name:<20} {v.priority:>4} {v.weight:>6g}  {state:<9} {success:>14} {latency:>9}  {_detail(v, now)}"
        )
    typer.echo(f"({source})", err=True)


@app.command("test")
def test_channels(
    name: Annotated[str | None, typer.Argument(help="One channel; all when omitted.")] = None,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Send a minimal request (one token) through each channel; report status and latency."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    results = _named(lambda: api.test_channels(name))
    if not results:
        typer.echo("no channel serves a model to test with", err=True)
        raise typer.Exit(1)
    typer.echo(f"{'CHANNEL':<20} {'RESULT':<12} {'STATUS':>6} {'LATENCY':>9}  DETAIL")
    for r in results:
        verdict = {"ok": "ok", "fault": "FAILED", "rate_limited": "rate-limited"}[r.verdict]
        status = str(r.status) if r.status is not None else "-"
        typer.echo(f"{r.channel:<20} {verdict:<12} {status:>6} {r.latency_ms:>6.0f} ms  {r.detail[:120]}")
    if any(r.verdict != "ok" for r in results):
        raise typer.Exit(1)


def _set(name: str, enable: bool, reason: str, data_dir: Any, config: Any) -> None:
    api = backend(lambda: settings_or_exit(data_dir, config))
    view, note = _named(lambda: api.set_channel(name, enable, reason))
    typer.echo(f"{view.name}: {'enabled' if enable else 'disabled'} {note}")


@app.command("enable")
def enable(name: str, data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Give a disabled or open channel traffic again, now."""
    _set(name, True, "", data_dir, config)


@app.command("disable")
def disable(
    name: str,
    reason: Annotated[str, typer.Option("--reason", help="Shown in `channels list`.")] = "",
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Take a channel out of every route until `onegate channels enable NAME`."""
    _set(name, False, reason, data_dir, config)
