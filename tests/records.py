"""The request records tests hand to the writer (one log row and one charge factory for every test), and
what tests count of them in the database."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, func, select

from onegate.store.ledger import Charge
from onegate.store.logs import LogRow
from onegate.store.schema import ledger, request_logs


def log_row(
    request_id: str, cost: int = 0, key_id: int | None = None, team_id: int | None = None, **fields: Any
) -> LogRow:
    """A served chat request's log row; `fields` override any column."""
    row: dict[str, Any] = {
        "request_id": request_id, "created_at": time.time(), "key_id": key_id, "key_mask": "sk-…abcd",
        "team_id": team_id, "client_name": "test", "client_version": "", "user_agent": "", "method": "POST",
        "path": "/api/v1/chat/completions", "dialect": "openai_chat", "status": 200, "stream": False,
        "latency_ms": 1.0, "input_tokens": 1, "cached_tokens": 0, "cache_write_tokens": 0, "output_tokens": 1,
        "reasoning_tokens": 0, "cost_micros": cost, "usage_estimated": False, "model_requested": None,
        "model_routed": None, "channel": None, "error_code": None, "error_message": None, "ttfb_ms": None,
        "price": None, "config_hint": None, "attempts": None, "notes": None,
    }  # fmt: skip
    return LogRow(**(row | fields))


def charge(request_id: str, cost: int, key_id: int, team_id: int | None, model: str = "m") -> Charge:
    return Charge(
        entry_id=f"{request_id}:0", kind="charge", team_id=team_id, key_id=key_id, request_id=request_id, model=model,
        amount_micros=-cost, created_at=time.time(),
    )  # fmt: skip


def count_logs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(request_logs)).scalar_one())


def ledger_total(engine: Engine, kind: str = "charge") -> int:
    with engine.connect() as conn:
        total = select(func.coalesce(func.sum(ledger.c.amount_micros), 0)).where(ledger.c.kind == kind)
        return int(conn.execute(total).scalar_one())
