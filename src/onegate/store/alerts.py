"""Spend alerts in the database: one row per alert raised."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from onegate.store.schema import spend_alerts


def insert_alert(engine: Engine, row: dict[str, Any]) -> int:
    with engine.begin() as conn:
        return int(conn.execute(spend_alerts.insert().values(**row).returning(spend_alerts.c.id)).scalar_one())


def set_webhook_status(engine: Engine, alert_id: int, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(spend_alerts.update().where(spend_alerts.c.id == alert_id).values(webhook_status=status[:100]))
