"""`onegate channels`: each channel's state, a live test through each, and enabling or disabling by hand.

The running server's view comes from Redis when `redis_url` is configured (every instance shares it),
otherwise from the snapshot the server writes into the data dir every `routing.sync_seconds`.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from onegate.channels import breaker
from onegate.channels.probe import ProbeResult, probe
from onegate.channels.snapshot import queue_command, read_snapshot
from onegate.channels.state import Marks, Window
from onegate.cli.common import ConfigPath, DataDir, settings_or_exit
from onegate.settings import Settings

if TYPE_CHECKING:
    from onegate.channels.redis import RedisChannelStore

app = typer.Typer(help="Channels: state, live tests, enable and disable.", no_args_is_help=True)


async def _from_redis(settings: Settings, names: list[str]) -> list[dict[str, Any]]:
    store = _redis_store(settings)
    try:
        now = time.time()
        marks, windows = await store.load_marks(), await store.windows(names, now)
    finally:
        await store.close()
    rows = []
    for name in names:
        m, w = marks.get(name, Marks()), windows[name]
        rows.append({"name": name, "state": m.state(now), **_window_fields(w), **m.as_dict()})
    return rows


def _redis_store(settings: Settings) -> RedisChannelStore:
    from onegate.channels.redis import RedisChannelStore

    routing = settings.routing
    return RedisChannelStore(settings.redis_url or "", routing.redis_prefix, routing.breaker.window_seconds)


def _window_fields(w: Window) -> dict[str, Any]:
    return {"successes": w.successes, "failures": w.failures, "latency_ms": w.latency_ms}


def _state_rows(settings: Settings) -> tuple[list[dict[str, Any]], str]:
    names = [c.name for c in settings.channels]
    if settings.redis_url:
        return asyncio.run(_from_redis(settings, names)), f"shared state in Redis ({settings.routing.redis_prefix})"
    snapshot = read_snapshot(settings.data_dir)
    if snapshot is None:
        return [{"name": n, "state": "unknown"} for n in names], "no snapshot yet: has onegate served here?"
    age = time.time() - float(snapshot.get("written_at", 0))
    by_name = {row["name"]: row for row in snapshot.get("channels", [])}
    rows = [by_name.get(n, {"name": n, "state": "unknown"}) for n in names]
    stale = age > max(10.0, 5 * settings.routing.sync_seconds)
    note = f"snapshot {age:.0f} s old" + (" (is onegate running?)" if stale else "")
    return rows, note


def _detail(row: dict[str, Any], now: float) -> str:
    state = row.get("state")
    if state == "open":
        detail = f"open {row['open_until'] - now:.0f} s more"
    elif state == "cooling":
        detail = f"cooling {row['cool_until'] - now:.0f} s more"
    elif state == "disabled":
        detail = f"disabled {row.get('disabled')}"
    elif state == "half_open":
        detail = "open, probing"
    else:
        detail = ""
    if row.get("last_error") and state != "healthy":
        detail += f"; last error: {str(row['last_error'])[:100]}"
    return detail.strip("; ")


@app.command("list")
def list_channels(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Each channel: tier, weight, state (healthy / cooling / open / disabled), recent success and latency."""
    settings = settings_or_exit(data_dir, config)
    rows, source = _state_rows(settings)
    configured = {c.name: c for c in settings.channels}
    if as_json:
        typer.echo(orjson.dumps({"source": source, "channels": rows}, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        typer.echo("no channels configured", err=True)
        return
    now = time.time()
    typer.echo(f"{'CHANNEL':<20} {'TIER':>4} {'WEIGHT':>6}  {'STATE':<9} {'SUCCESS':>14} {'LATENCY':>9}  DETAIL")
    for row in rows:
        channel = configured[row["name"]]
        ok, failed = int(row.get("successes", 0)), int(row.get("failures", 0))
        success = f"{100 * ok / (ok + failed):.0f}% of {ok + failed}" if ok + failed else "-"
        latency = f"{row['latency_ms'] / ok:.0f} ms" if ok else "-"
        state = "open" if row["state"] == "half_open" else row["state"]
        typer.echo(
            f"{channel.name:<20} {channel.priority:>4} {channel.weight:>6g}  {state:<9} {success:>14} {latency:>9}"
            f"  {_detail(row, now)}"
        )
    typer.echo(f"({source})", err=True)


async def _probe_all(settings: Settings, name: str | None) -> list[ProbeResult]:
    from onegate.providers.registry import ModelRegistry

    registry = ModelRegistry.from_settings(settings)
    targets = [t for n, t in registry.channels.items() if name is None or n == name]
    try:
        return list(await asyncio.gather(*(probe(t) for t in targets)))
    finally:
        if registry.sessions is not None:
            await registry.sessions.close()


@app.command("test")
def test_channels(
    name: Annotated[str | None, typer.Argument(help="One channel; all when omitted.")] = None,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Send a minimal request (one token) through each channel; report status and latency."""
    settings = settings_or_exit(data_dir, config)
    _known_or_exit(settings, name)
    results = asyncio.run(_probe_all(settings, name))
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


def _known_or_exit(settings: Settings, name: str | None) -> None:
    if name is not None and name not in {c.name for c in settings.channels}:
        known = ", ".join(c.name for c in settings.channels) or "none"
        typer.secho(f"no channel named {name!r} (configured: {known})", fg="red", err=True)
        raise typer.Exit(2)


async def _save_marks(settings: Settings, name: str, marks: Marks) -> None:
    store = _redis_store(settings)
    try:
        await store.save_marks(name, marks)
        await store.clear_window(name)
    finally:
        await store.close()


def _command(settings: Settings, action: str, name: str, marks: Marks, reason: str = "") -> None:
    if settings.redis_url:
        asyncio.run(_save_marks(settings, name, marks))
        typer.echo(f"{name}: {action}d for every instance (Redis)")
        return
    queue_command(settings.data_dir, action, name, reason)
    typer.echo(f"{name}: {action} queued; the running onegate applies it within {settings.routing.sync_seconds:g} s")


@app.command("enable")
def enable(name: str, data_dir: DataDir = None, config: ConfigPath = None) -> None:
    """Give a disabled or open channel traffic again, now."""
    settings = settings_or_exit(data_dir, config)
    _known_or_exit(settings, name)
    _command(settings, "enable", name, breaker.enabled(time.time()))


@app.command("disable")
def disable(
    name: str,
    reason: Annotated[str, typer.Option("--reason", help="Shown in `channels list`.")] = "",
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """Take a channel out of every route until `onegate channels enable NAME`."""
    settings = settings_or_exit(data_dir, config)
    _known_or_exit(settings, name)
    why = "by hand" + (f": {reason}" if reason else "")
    _command(settings, "disable", name, breaker.disabled(why, time.time()), reason)
