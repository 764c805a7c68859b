"""Abnormal-spend alerts, newest first; a team admin sees their team's and its keys'."""

from __future__ import annotations

import msgspec
from sqlalchemy import Engine, and_, or_, select

from onegate.manage.actor import Actor, require
from onegate.store.schema import api_keys, spend_alerts


class AlertView(msgspec.Struct, kw_only=True):
    id: int
    created_at: float
    scope: str  # team | key
    subject_id: int
    subject_name: str | None
    recent_micros: int
    baseline_micros: int
    ratio: float | None
    message: str
    webhook_status: str | None


def list_alerts(engine: Engine, actor: Actor, limit: int = 50) -> list[AlertView]:
    require(actor, "owner", "operator", "viewer", "team_admin")
    c = spend_alerts.c
    stmt = select(spend_alerts).order_by(c.created_at.desc(), c.id.desc()).limit(max(1, min(limit, 500)))
    if actor.role == "team_admin":
        team_keys = select(api_keys.c.id).where(api_keys.c.team_id == actor.team_id)
        stmt = stmt.where(
            or_(
                and_(c.scope == "team", c.subject_id == actor.team_id),
                and_(c.scope == "key", c.subject_id.in_(team_keys)),
            )
        )
    with engine.connect() as conn:
        return [msgspec.convert(dict(r._mapping), AlertView) for r in conn.execute(stmt)]
