"""`onegate tasks`: video tasks — list, show (status history and callback deliveries), cancel, redeliver."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from onegate.accounting.money import format_amount
from onegate.cli.common import ConfigPath, DataDir, fail, open_store, print_table, settings_or_exit
from onegate.media import tasks, webhooks
from onegate.settings import Settings

app = typer.Typer(help="Video tasks: status, history, callbacks.", no_args_is_help=True)


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S") if epoch else "-"


@app.command("list")
def list_(
    key: Annotated[str | None, typer.Option("--key", help="Only this key's tasks (id or name).")] = None,
    status: Annotated[str | None, typer.Option("--status", help="queued, in_progress, completed or failed.")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 50,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """The newest tasks first."""
    from onegate.store.keys import KeyNotFound, find_key

    settings = settings_or_exit(data_dir, config)
    engine = open_store(settings)
    try:
        key_id = find_key(engine, key).id if key else None
    except KeyNotFound as exc:
        fail(str(exc))
    found = tasks.list_tasks(engine, key_id, limit=limit, statuses=(status,) if status else None)
    if not found:
        typer.echo("no tasks")
        return
    rows = [("ID", "CREATED", "KEY", "MODEL", "STATUS", "PROGRESS", "COST")]
    for t in found:
        cost = format_amount(t.cost_micros, settings.accounting.currency)
        rows.append((t.id, _when(t.created_at), t.key_mask or str(t.key_id), t.model, t.status, f"{t.progress}%", cost))
    print_table(rows)


def _task(engine: object, task_id: str) -> tasks.Task:
    task = tasks.get(engine, task_id)  # type: ignore[arg-type]
    if task is None:
        fail(f"no task {task_id!r}")
    assert task is not None
    return task


@app.command("show")
def show(
    task_id: Annotated[str, typer.Argument(metavar="ID")], data_dir: DataDir = None, config: ConfigPath = None
) -> None:
    """One task: where it ran, its status history, its cost and each callback attempt."""
    settings = settings_or_exit(data_dir, config)
    engine = open_store(settings)
    task = _task(engine, task_id)
    typer.echo(f"{task.id}  {task.status} {task.progress}%  model {task.model}")
    typer.echo(f"  key {task.key_mask or task.key_id}  channel {task.channel}  upstream id {task.upstream_id}")
    typer.echo(f"  submitted {_when(task.created_at)} by request {task.request_id}; ended {_when(task.completed_at)}")
    cost = format_amount(task.cost_micros, settings.accounting.currency)
    typer.echo(f"  seconds {task.seconds}  size {task.size}  cost {cost}")
    if task.error_code:
        typer.echo(f"  error {task.error_code}: {task.error_message}")
    typer.echo("  history:")
    for at, status, progress in task.history:
        typer.echo(f"    {_when(at)}  {status} {progress}%")
    for delivery in webhooks.deliveries_of(engine, task.id):
        typer.echo(f"  callback {delivery.id} {delivery.event_type} → {delivery.url}: {delivery.state}")
        for n, attempt in enumerate(delivery.attempts, 1):
            got = attempt["status"] if attempt["status"] is not None else attempt["error"]
            typer.echo(f"    attempt {n} at {_when(attempt['at'])}: {got} in {attempt['ms']:.0f} ms")


@app.command("cancel")
def cancel(
    task_id: Annotated[str, typer.Argument(metavar="ID")], data_dir: DataDir = None, config: ConfigPath = None
) -> None:
    """Cancel an open task upstream; it ends `failed` with code `cancelled` and costs nothing."""
    settings = settings_or_exit(data_dir, config)
    engine = open_store(settings)
    task = _task(engine, task_id)
    if not task.open:
        fail(f"task {task.id} is already {task.status}")
    if asyncio.run(_cancel(settings, task)):
        typer.echo(f"task {task.id} cancelled")
    else:
        fail(f"task {task.id} ended before it could be cancelled")


async def _cancel(settings: Settings, task: tasks.Task) -> bool:
    """The same end as DELETE on the API: the upstream told, the task ended once, its hold released."""
    from onegate.accounting.reservations import Reservations
    from onegate.counters import open_counters
    from onegate.media.service import Media
    from onegate.providers.registry import ModelRegistry
    from onegate.store.writer import LogWriter

    engine = open_store(settings)
    registry = ModelRegistry.from_settings(settings)
    counters = open_counters(settings)
    reservations = Reservations(counters, settings.accounting.reservation_ttl)
    writer = LogWriter(engine, settings.data_dir / "spill" / f"cli-{int(time.time())}.jsonl")
    writer.start()
    try:
        media = Media(engine, registry, writer, reservations, settings.media)
        adapter = media.adapter(task.channel, task.model)
        if adapter is not None:
            try:
                await adapter.cancel(task.upstream_id, task.upstream_data)
            except Exception as exc:  # the task still ends here; the upstream may finish it on its own
                typer.secho(f"warning: the upstream did not accept the cancel ({exc})", fg="yellow", err=True)
        return await media.finish(task, "failed", {}, error=("cancelled", "The video task was cancelled."))
    finally:
        await asyncio.to_thread(writer.close)
        await counters.flush()
        await counters.close()
        if registry.sessions is not None:
            await registry.sessions.close()


@app.command("redeliver")
def redeliver(
    task_id: Annotated[str, typer.Argument(metavar="ID")], data_dir: DataDir = None, config: ConfigPath = None
) -> None:
    """Send the task's callbacks again (a running server's poller sends them within a second)."""
    engine = open_store(settings_or_exit(data_dir, config))
    task = _task(engine, task_id)
    count = webhooks.redeliver(engine, task.id)
    if not count:
        fail(f"task {task.id} has no callbacks to send (no callback_url, or it has not ended)")
    typer.echo(f"{count} callback(s) of task {task.id} queued for delivery")
