"""What a key may still spend, for the key holder and for the balance endpoints clients already call
(OpenRouter's `GET /api/v1/key`, OpenAI's legacy `/v1/dashboard/billing/*`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgspec
from sqlalchemy import Engine, Integer, cast, func, select

from onegate.accounting.periods import period_bounds
from onegate.apikeys import KeyRecord
from onegate.settings import MICROS
from onegate.store.ledger import key_spend_since
from onegate.store.schema import ledger
from onegate.store.teams import TeamRecord


class KeyBalance(msgspec.Struct, kw_only=True):
    key_id: int
    name: str
    mask: str
    models: list[str] | None
    expires_at: float | None
    budget_micros: int | None
    budget_period: str | None
    spent_micros: int  # in the budget period (the calendar month without a budget)
    spent_daily_micros: int
    spent_weekly_micros: int
    spent_monthly_micros: int
    team_balance_micros: int | None  # the team's balance, when the key spends one
    remaining_micros: int | None  # what the key may still spend: budget left and team balance; None: no limit
    rpm: int | None
    tpm: int | None


def key_balance(engine: Engine, key: KeyRecord, team: TeamRecord | None, now: float | None = None) -> KeyBalance:
    now = time.time() if now is None else now
    spent_by: dict[str, int] = {}
    for period in ("daily", "weekly", "monthly"):
        _, start, _ = period_bounds(period, now)
        spent_by[period] = key_spend_since(engine, [key.id], start).get(key.id, 0)
    spent = spent_by[key.budget_period or "monthly"]
    limits = []
    if key.budget_micros is not None:
        limits.append(max(0, key.budget_micros - spent))
    if team is not None:
        limits.append(max(0, team.balance_micros))
    return KeyBalance(
        key_id=key.id,
        name=key.name,
        mask=key.mask,
        models=list(key.models) if key.models else None,
        expires_at=key.expires_at,
        budget_micros=key.budget_micros,
        budget_period=key.budget_period,
        spent_micros=spent,
        spent_daily_micros=spent_by["daily"],
        spent_weekly_micros=spent_by["weekly"],
        spent_monthly_micros=spent_by["monthly"],
        team_balance_micros=team.balance_micros if team else None,
        remaining_micros=min(limits) if limits else None,
        rpm=key.rpm,
        tpm=key.tpm,
    )


def units(micros: int | None) -> float | None:
    return None if micros is None else round(micros / MICROS, 6)


def openrouter_key(b: KeyBalance, default_rpm: int | None) -> dict[str, object]:
    """OpenRouter's key-info shape: amounts in currency units; `limit` is what this period allows."""
    limit = None if b.remaining_micros is None else b.spent_micros + b.remaining_micros
    rpm = b.rpm or default_rpm
    return {
        "data": {
            "label": f"{b.name} ({b.mask})",
            "usage": units(b.spent_micros),
            "usage_daily": units(b.spent_daily_micros),
            "usage_weekly": units(b.spent_weekly_micros),
            "usage_monthly": units(b.spent_monthly_micros),
            "limit": units(limit),
            "limit_remaining": units(b.remaining_micros),
            "limit_reset": b.budget_period if b.budget_micros is not None else None,
            "expires_at": _iso(b.expires_at) if b.expires_at else None,
            "is_free_tier": False,
            "is_provisioning_key": False,
            "rate_limit": {"requests": rpm, "interval": "1m"} if rpm else {"requests": -1, "interval": "1m"},
        }
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def billing_subscription(b: KeyBalance) -> dict[str, object]:
    """OpenAI's legacy subscription shape (clients show hard_limit_usd as the total they may spend)."""
    total = None if b.remaining_micros is None else b.spent_micros + b.remaining_micros
    limit = units(total) if total is not None else 100_000_000.0  # no limit: a number clients read as plenty
    return {
        "object": "billing_subscription",
        "has_payment_method": True,
        "soft_limit_usd": limit,
        "hard_limit_usd": limit,
        "system_hard_limit_usd": limit,
        "access_until": int(b.expires_at) if b.expires_at else 0,
    }


def billing_usage(engine: Engine, key_id: int, start: float, end: float) -> dict[str, object]:
    """OpenAI's legacy usage shape: `total_usage` in cents of the currency, and cost per day."""
    day = (
        func.floor(ledger.c.created_at / 86400)
        if engine.dialect.name == "postgresql"
        else cast(ledger.c.created_at / 86400, Integer)
    )
    stmt = (
        select(day.label("day"), ledger.c.model, func.sum(ledger.c.amount_micros))
        .where(
            ledger.c.kind == "charge",
            ledger.c.key_id == key_id,
            ledger.c.created_at >= start,
            ledger.c.created_at < end,
        )
        .group_by(day, ledger.c.model)
        .order_by(day)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    days: dict[int, list[dict[str, object]]] = {}
    total = 0
    for d, model, amount in rows:
        spent = -int(amount or 0)
        total += spent
        days.setdefault(int(d), []).append({"name": model or "-", "cost": round(spent / MICROS * 100, 6)})
    return {
        "object": "list",
        "daily_costs": [{"timestamp": d * 86400, "line_items": items} for d, items in sorted(days.items())],
        "total_usage": round(total / MICROS * 100, 6),
    }
