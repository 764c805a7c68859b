"""`onegate tasks`: video tasks — list, show (status history and callback deliveries), cancel, redeliver."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from onegate.accounting.money import format_amount
from onegate.cli.backend import backend, remote, run
from onegate.cli.common import ConfigPath, DataDir, fail, open_store, print_table, settings_or_exit
from onegate.manage.tasks import TaskQuery
from onegate.media import tasks
from onegate.settings import Settings

app = typer.Typer(help="Video tasks: status, history, callbacks.", no_args_is_help=True)


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S") if epoch else "-"


@app.command("list")
def list_(
    key: Annotated[str | None, typer.Option("--key", help="Only this key's tasks (id or name).")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's tasks (id or name).")] = None,
    status: Annotated[str | None, typer.Option("--status", help="queued, in_progress, completed or failed.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only tasks of this model.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first (at most 200).")] = 50,
    data_dir: DataDir = None,
    config: ConfigPath = None,
) -> None:
    """The newest tasks first (here, or on a server: `onegate --server URL --token T tasks list`)."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    if status is not None and status not in (*tasks.OPEN, *tasks.TERMINAL):
        fail("--status must be queued, in_progress, completed or failed")
    if not 1 <= limit <= 200:
        fail("--limit must be from 1 to 200")
    query = TaskQuery(
        status=status,  # type: ignore[arg-type]  # checked above
        model=model,
        key_id=run(lambda: api.key_id(key)) if key else None,
        team_id=run(lambda: api.team_id(team)) if team else None,
        limit=limit,
    )
    page = run(api.list_tasks, query)
    if not page.items:
        typer.echo("no tasks")
        return
    rows = [("ID", "CREATED (UTC)", "KEY", "MODEL", "STATUS", "PROGRESS", "COST")]
    for t in page.items:
        cost = format_amount(t.cost_micros)
        rows.append((t.id, _when(t.created_at), t.key_mask or str(t.key_id), t.model, t.status, f"{t.progress}%", cost))
    print_table(rows)
    if page.next_cursor:
        typer.secho(f"(the newest {limit}; --limit for more)", err=True)


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
    """One task: where it ran, its status history, its money and each callback attempt."""
    api = backend(lambda: settings_or_exit(data_dir, config))
    detail = run(api.show_task, task_id)
    task = detail.task
    typer.echo(f"{task.id}  {task.status} {task.progress}%  model {task.model}")
    where = f"channel {detail.channel or '-'}  upstream id {detail.upstream_id or '-'}"
    typer.echo(f"  key {task.key_mask or task.key_id}  {where}")
    typer.echo(
        f"  submitted {_when(task.created_at)} by request {detail.submit_request_id}; ended {_when(task.completed_at)}"
    )
    money = detail.billing
    settled = f", settled by {money.settlement_request_id}" if money.settlement_request_id else ""
    typer.echo(
        f"  seconds {task.seconds}  size {task.size}  reserved {format_amount(money.reserved_micros)}  "
        f"cost {format_amount(money.cost_micros)}  ({money.state}{settled})"
    )
    if task.error_code:
        typer.echo(f"  error {task.error_code}: {detail.error_message}")
    typer.echo("  history:")
    for change in detail.history:
        typer.echo(f"    {_when(change.at)}  {change.status} {change.progress}%")
    for delivery in detail.deliveries:
        typer.echo(f"  callback {delivery.id} {delivery.event_type} → {delivery.url}: {delivery.state}")
        for n, attempt in enumerate(delivery.attempts, 1):
            got = attempt.status if attempt.status is not None else attempt.error
            typer.echo(f"    attempt {n} at {_when(attempt.at)}: {got} in {attempt.latency_ms:.0f} ms")


@app.command("cancel")
def cancel(
    task_id: Annotated[str, typer.Argument(metavar="ID")], data_dir: DataDir = None, config: ConfigPath = None
) -> None:
    """Cancel an open task upstream; it ends `failed` with code `cancelled` and costs nothing."""
    if remote() is not None:  # it speaks to the upstream with the channel's credentials, which live there
        fail("`tasks cancel` runs on the server's machine; remotely, DELETE /api/v1/videos/ID with the task's key")
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
    api = backend(lambda: settings_or_exit(data_dir, config))
    done = run(api.redeliver_task, task_id)
    typer.echo(f"{done.queued} callback(s) of task {done.task_id} queued for delivery")
