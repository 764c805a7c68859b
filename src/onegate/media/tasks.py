"""Video tasks in the database: create, read, list, claim due ones with a lease, move status once.

Every status change is a guarded UPDATE (`… WHERE status IN ('queued','in_progress')`): of two pollers (or
a poller and a DELETE) that race to end a task, exactly one sees rowcount 1, and only that one settles
the task's money and queues its callback. Claiming: PostgreSQL takes due rows `FOR UPDATE SKIP LOCKED`
(instances never wait for or double-claim each other's rows); SQLite has one writer at a time, so the
same UPDATE … WHERE lease expired is atomic there too. One indexed query claims a whole round.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, Table, or_, select, tuple_, update

from onegate.store.schema import media_tasks

OPEN = ("queued", "in_progress")
TERMINAL = ("completed", "failed")


def new_task_id() -> str:
    return "video_" + secrets.token_hex(12)  # short enough that `req_` + it names the settlement's log row


def settlement_id(task_id: str) -> str:
    """The request id of a task's end: its log row, its charge, and the name of the reservation it settles."""
    return f"req_{task_id}"


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    key_id: int
    key_mask: str | None
    team_id: int | None
    request_id: str
    model: str
    channel: str
    upstream_model: str
    upstream_id: str
    status: str
    progress: int
    prompt: str | None
    seconds: str | None
    size: str | None
    remixed_from: str | None
    error_code: str | None
    error_message: str | None
    created_at: float
    completed_at: float | None
    expires_at: float | None
    next_poll_at: float
    polls: int
    reservation: dict[str, Any] | None
    price: dict[str, Any] | None
    cost_micros: int
    callback_url: str | None
    history: list[list[Any]]
    upstream_data: dict[str, Any]

    @classmethod
    def from_row(cls, row: Any) -> Task:  # a RowMapping
        return cls(
            id=row["id"],
            key_id=row["key_id"],
            key_mask=row["key_mask"],
            team_id=row["team_id"],
            request_id=row["request_id"],
            model=row["model"],
            channel=row["channel"],
            upstream_model=row["upstream_model"],
            upstream_id=row["upstream_id"],
            status=row["status"],
            progress=row["progress"] or 0,
            prompt=row["prompt"],
            seconds=row["seconds"],
            size=row["size"],
            remixed_from=row["remixed_from"],
            error_code=row["error_code"],
            error_message=row["error_message"],
            created_at=row["created_at"],
            completed_at=row["completed_at"],
            expires_at=row["expires_at"],
            next_poll_at=row["next_poll_at"],
            polls=row["polls"] or 0,
            reservation=_json(row["reservation"]),
            price=_json(row["price"]),
            cost_micros=row["cost_micros"] or 0,
            callback_url=row["callback_url"],
            history=_json(row["history"]) or [],
            upstream_data=_json(row["upstream_data"]) or {},
        )

    @property
    def open(self) -> bool:
        return self.status in OPEN

    def as_video(self) -> dict[str, Any]:
        """The OpenAI `video` object: onegate's id; the upstream's id, channel and URLs stay private."""
        error = {"code": self.error_code, "message": self.error_message or ""} if self.status == "failed" else None
        return {
            "id": self.id,
            "object": "video",
            "model": self.model,
            "status": self.status,
            "progress": self.progress,
            "created_at": int(self.created_at),
            "completed_at": int(self.completed_at) if self.completed_at else None,
            "expires_at": int(self.expires_at) if self.expires_at else None,
            "prompt": self.prompt,
            "seconds": self.seconds,
            "size": self.size,
            "remixed_from_video_id": self.remixed_from,
            "error": error,
        }


def _json(value: str | None) -> Any:
    return orjson.loads(value) if value else None


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def insert(engine: Engine, values: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(media_tasks.insert().values(**values))


def get(engine: Engine, task_id: str) -> Task | None:
    with engine.connect() as conn:
        row = conn.execute(select(media_tasks).where(media_tasks.c.id == task_id)).mappings().first()
    return Task.from_row(row) if row else None


def visible(task: Task | None, key_id: int) -> bool:
    """A key sees its own tasks on the API (a team admin sees their team's through manage/tasks.py)."""
    return task is not None and task.key_id == key_id


def list_tasks(
    engine: Engine,
    key_id: int | None = None,
    after: str | None = None,
    limit: int = 20,
    order: str = "desc",
    statuses: tuple[str, ...] | None = None,
    *,
    team_id: int | None = None,
    model: str | None = None,
    cursor: tuple[float, str] | None = None,
) -> list[Task]:
    """A page of tasks, newest first by default. The page starts after `cursor` (the last row's
    (created_at, id)) or after the task `after` (the OpenAI API's cursor: an id)."""
    query = select(media_tasks)
    for column, value in ((media_tasks.c.key_id, key_id), (media_tasks.c.team_id, team_id)):
        if value is not None:
            query = query.where(column == value)
    if model is not None:
        query = query.where(media_tasks.c.model == model)
    if statuses is not None:
        query = query.where(media_tasks.c.status.in_(statuses))
    with engine.connect() as conn:
        if after and cursor is None:
            at = conn.execute(select(media_tasks.c.created_at).where(media_tasks.c.id == after)).scalar()
            cursor = (at, after) if at is not None else None
        if cursor is not None:  # a row-value comparison: both databases then read the index from the cursor on
            key, mark = tuple_(media_tasks.c.created_at, media_tasks.c.id), tuple_(*cursor)
            query = query.where(key > mark if order == "asc" else key < mark)
        keys = (media_tasks.c.created_at, media_tasks.c.id)
        query = query.order_by(*(k.asc() if order == "asc" else k.desc() for k in keys)).limit(limit)
        return [Task.from_row(r) for r in conn.execute(query).mappings()]


def claim_due(engine: Engine, owner: str, now: float, lease: float, limit: int) -> list[Task]:
    """Take up to `limit` open tasks whose poll is due and whose lease (if any) ran out, leased to `owner`."""
    table = media_tasks
    due = (table.c.status.in_(OPEN), table.c.next_poll_at <= now)
    rows = claim(
        engine, table, due, table.c.next_poll_at, limit, now, {"lease_owner": owner, "lease_until": now + lease}
    )
    return [Task.from_row(r) for r in rows]


def claim(
    engine: Engine, table: Table, due: tuple[Any, ...], order: Any, limit: int, now: float, values: dict[str, Any]
) -> list[Any]:
    """One statement: lease the due rows of `table` (`lease_until` unset or past) and return them.
    PostgreSQL skips rows another instance is claiming right now (`FOR UPDATE SKIP LOCKED`)."""
    lease = table.c.lease_until
    query = select(table.c.id).where(*due, or_(lease.is_(None), lease < now)).order_by(order).limit(limit)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = conn.execute(
            update(table).where(table.c.id.in_(query.scalar_subquery())).values(**values).returning(*table.c)
        )
        return list(claimed.mappings())


def advance(engine: Engine, task: Task, values: dict[str, Any], owner: str | None = None) -> bool:
    """Update an open task (a poll's news, the next poll time); False when it is no longer open or, with
    `owner`, no longer leased to it. A move to a terminal status here is the one billing transition."""
    values = dict(values)
    status = values.get("status", task.status)
    if status != task.status or values.get("progress", task.progress) != task.progress:
        values["history"] = dumps(
            [*task.history, [round(time.time(), 3), status, values.get("progress", task.progress)]]
        )
    query = update(media_tasks).where(media_tasks.c.id == task.id, media_tasks.c.status.in_(OPEN))
    if owner is not None:
        query = query.where(media_tasks.c.lease_owner == owner)
    with engine.begin() as conn:
        return conn.execute(query.values(**values)).rowcount == 1


def set_cost(engine: Engine, task_id: str, cost: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(media_tasks).where(media_tasks.c.id == task_id).values(cost_micros=cost))


def due_count(engine: Engine, now: float) -> int:
    from sqlalchemy import func

    with engine.connect() as conn:
        query = select(func.count()).where(media_tasks.c.status.in_(OPEN), media_tasks.c.next_poll_at <= now)
        return int(conn.execute(query).scalar() or 0)


def expire(engine: Engine, task_id: str) -> None:
    """A deleted, finished video: its content is gone (the row stays, with its billing history)."""
    with engine.begin() as conn:
        conn.execute(update(media_tasks).where(media_tasks.c.id == task_id).values(expires_at=time.time()))
