"""The audit trail: one row per management action (who, when, what, before and after), in the action's
own transaction so a change and its record never part."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import orjson
from sqlalchemy import Connection, Engine, select

from onegate.manage.actor import Actor, forced_scope, require
from onegate.store.schema import audit_log


class AuditEntry(msgspec.Struct, kw_only=True):
    id: int
    created_at: float
    actor: str
    role: str
    action: str
    target: str | None
    team_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(msgspec.Struct, kw_only=True):
    items: list[AuditEntry]
    next_cursor: str | None


def _plain(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    data = msgspec.to_builtins(value)
    return data if isinstance(data, dict) else {"value": data}


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    target: str | None,
    *,
    team_id: int | None = None,
    before: object = None,
    after: object = None,
) -> None:
    b, a = _plain(before), _plain(after)
    conn.execute(
        audit_log.insert().values(
            created_at=time.time(),
            actor=actor.name,
            role=actor.role,
            action=action,
            target=target,
            team_id=team_id,
            before=orjson.dumps(b).decode() if b is not None else None,
            after=orjson.dumps(a).decode() if a is not None else None,
        )
    )


def list_audit(
    engine: Engine, actor: Actor, cursor: int | None = None, limit: int = 50, team_id: int | None = None
) -> AuditPage:
    """Newest first, optionally one team's; a team admin reads their team's entries only; key holders none."""
    require(actor, "owner", "operator", "viewer", "team_admin")
    team_id, _ = forced_scope(actor, team_id, None)
    c = audit_log.c
    stmt = select(audit_log).order_by(c.id.desc()).limit(limit)
    if team_id is not None:
        stmt = stmt.where(c.team_id == team_id)
    if cursor is not None:
        stmt = stmt.where(c.id < cursor)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    items = [
        AuditEntry(
            id=r.id,
            created_at=r.created_at,
            actor=r.actor,
            role=r.role,
            action=r.action,
            target=r.target,
            team_id=r.team_id,
            before=orjson.loads(r.before) if r.before else None,
            after=orjson.loads(r.after) if r.after else None,
        )
        for r in rows
    ]
    return AuditPage(items=items, next_cursor=str(items[-1].id) if len(items) == limit else None)
