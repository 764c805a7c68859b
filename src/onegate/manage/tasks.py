"""Video tasks for people: a filtered keyset list, one task with its billing and callback deliveries, and
redelivery. Every query is narrowed to what the actor may see (a team admin their team's tasks, a key
holder their key's); a task outside that answers like one that does not exist."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import Engine

from onegate.manage import audit
from onegate.manage.actor import Actor, forced_scope, invalid, key_visible, not_found, require
from onegate.manage.cursors import decode_cursor, encode_cursor
from onegate.manage.types import Id, Text
from onegate.media import tasks, webhooks

TaskStatus = Literal["queued", "in_progress", "completed", "failed"]
TaskId = Annotated[str, Meta(min_length=1, max_length=40)]


class TaskQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: TaskStatus | None = None
    model: Text | None = None
    key_id: Id | None = None
    team_id: Id | None = None
    cursor: Annotated[str, Meta(max_length=200)] | None = None  # `next_cursor` of the previous page
    limit: Annotated[int, Meta(ge=1, le=200)] = 50


class TaskItem(msgspec.Struct, kw_only=True):
    id: str  # video_…
    status: str  # queued | in_progress | completed | failed
    progress: int  # percent
    model: str
    key_id: int
    key_mask: str | None
    team_id: int | None
    seconds: str | None
    size: str | None
    created_at: float
    completed_at: float | None
    cost_micros: int  # what its end charged (0 while open, and when it failed)
    error_code: str | None  # failed: the upstream's code, `timeout` or `cancelled`


class TaskPage(msgspec.Struct, kw_only=True):
    items: list[TaskItem]
    next_cursor: str | None  # pass as `cursor` for the next page; None: no more


class StatusChange(msgspec.Struct, kw_only=True):
    at: float
    status: str
    progress: int


class Billing(msgspec.Struct, kw_only=True):
    """The task's money: reserved at submit, settled once when it completed, released when it failed."""

    state: Literal["held", "settled", "released", "free"]  # free: nothing was reserved (a free model)
    reserved_micros: int  # the hold admission made at submit
    cost_micros: int  # charged at the end (completed: its seconds at its price)
    settlement_request_id: str | None  # the log row (and charge) of the end: `req_{task id}`; None while open


class DeliveryAttempt(msgspec.Struct, kw_only=True):
    at: float
    status: int | None  # the receiver's HTTP status; None when nothing came back
    latency_ms: float
    error: str | None  # a network error, or why the address was refused


class DeliveryView(msgspec.Struct, kw_only=True):
    id: str  # the webhook-id (msg_…), the same on every attempt
    event_type: str  # video.completed | video.failed
    url: str
    state: str  # pending | delivered | failed | disabled
    created_at: float
    attempts: list[DeliveryAttempt]


class TaskDetail(msgspec.Struct, kw_only=True):
    task: TaskItem
    submit_request_id: str  # the submit's log row
    channel: str | None  # where it ran; shown to owner, operator and viewer only
    upstream_id: str | None  # the upstream's task id; likewise
    error_message: str | None
    expires_at: float | None
    remixed_from: str | None
    callback_url: str | None  # per request (the key's default is used when this is None)
    history: list[StatusChange]
    billing: Billing
    deliveries: list[DeliveryView]


class Redelivered(msgspec.Struct, kw_only=True):
    task_id: str
    queued: int  # events queued to be sent again (the poller sends them within a second)


def item(t: tasks.Task) -> TaskItem:
    return TaskItem(
        id=t.id,
        status=t.status,
        progress=t.progress,
        model=t.model,
        key_id=t.key_id,
        key_mask=t.key_mask,
        team_id=t.team_id,
        seconds=t.seconds,
        size=t.size,
        created_at=t.created_at,
        completed_at=t.completed_at,
        cost_micros=t.cost_micros,
        error_code=t.error_code,
    )


def list_tasks(engine: Engine, actor: Actor, q: TaskQuery) -> TaskPage:
    """Newest first, one indexed keyset page at a time."""
    team_id, key_id = forced_scope(actor, q.team_id, q.key_id)
    cursor = decode_cursor(q.cursor) if q.cursor else None
    found = tasks.list_tasks(
        engine,
        key_id,
        limit=q.limit,
        statuses=(q.status,) if q.status else None,
        team_id=team_id,
        model=q.model,
        cursor=cursor,
    )
    last = found[-1] if len(found) == q.limit else None
    return TaskPage(
        items=[item(t) for t in found], next_cursor=encode_cursor(last.created_at, last.id) if last else None
    )


def _visible(engine: Engine, actor: Actor, task_id: str) -> tasks.Task:
    task = tasks.get(engine, task_id)
    if task is None or not key_visible(actor, task.key_id, task.team_id):
        raise not_found(f"no task with id {task_id}")
    return task


def billing(task: tasks.Task) -> Billing:
    reserved = int(task.reservation["amount"]) if task.reservation else 0
    if task.open:
        state: Literal["held", "settled", "released", "free"] = "held" if task.reservation else "free"
    elif not task.reservation:
        state = "free"
    else:
        state = "settled" if task.status == "completed" else "released"
    return Billing(
        state=state,
        reserved_micros=reserved,
        cost_micros=task.cost_micros,
        settlement_request_id=None if task.open else tasks.settlement_id(task.id),
    )


def delivery_view(d: webhooks.Delivery) -> DeliveryView:
    attempts = [
        DeliveryAttempt(at=a["at"], status=a.get("status"), latency_ms=a.get("ms", 0.0), error=a.get("error"))
        for a in d.attempts
    ]
    return DeliveryView(
        id=d.id, event_type=d.event_type, url=d.url, state=d.state, created_at=d.created_at, attempts=attempts
    )


def show_task(engine: Engine, actor: Actor, task_id: str) -> TaskDetail:
    task = _visible(engine, actor, task_id)
    where = actor.reads_all  # the channel and the upstream's id are the operators' business
    return TaskDetail(
        task=item(task),
        submit_request_id=task.request_id,
        channel=task.channel if where else None,
        upstream_id=task.upstream_id if where else None,
        error_message=task.error_message,
        expires_at=task.expires_at,
        remixed_from=task.remixed_from,
        callback_url=task.callback_url,
        history=[StatusChange(at=at, status=status, progress=progress) for at, status, progress in task.history],
        billing=billing(task),
        deliveries=[delivery_view(d) for d in webhooks.deliveries_of(engine, task.id)],
    )


def redeliver(engine: Engine, actor: Actor, task_id: str) -> Redelivered:
    """Queue the task's callback events again (delivered, failed and disabled ones alike); audited."""
    require(actor, "owner", "operator", "team_admin", "key")
    task = _visible(engine, actor, task_id)
    with engine.begin() as conn:
        queued = webhooks.requeue(conn, task.id)
        if not queued:
            raise invalid(f"task {task.id} has no callbacks to send (no callback URL, or it has not ended)")
        audit.record(conn, actor, "tasks.redeliver", f"task:{task.id}", team_id=task.team_id, after={"queued": queued})
    return Redelivered(task_id=task.id, queued=queued)
