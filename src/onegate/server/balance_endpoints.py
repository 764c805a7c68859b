"""Balance endpoints clients already call, answered for the calling key: OpenRouter's `GET /api/v1/key`
(and its older `/auth/key`), OpenAI's legacy `GET /v1/dashboard/billing/subscription` and `…/usage`.
Amounts are in the gateway's currency units, whatever the `_usd` field names say (docs/MANAGEMENT.md)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import orjson

from onegate import errors
from onegate.apikeys import KeyRecord
from onegate.asgi import Receive, Responder
from onegate.errors import GatewayError
from onegate.manage import balance
from onegate.pipeline.authenticate import authenticate
from onegate.server.services import Services
from onegate.store.teams import team_by_id

if TYPE_CHECKING:
    from onegate.context import RequestContext


def _balance(svc: Services, key: KeyRecord) -> balance.KeyBalance:
    team = None
    if key.team_id is not None:
        with svc.engine.connect() as conn:
            team = team_by_id(conn, key.team_id)
    return balance.key_balance(svc.engine, key, team)


async def key_info(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    key = await authenticate(ctx, svc.keys)
    b = await asyncio.to_thread(_balance, svc, key)
    body = balance.openrouter_key(b, svc.settings.accounting.key_limits.rpm)
    await responder.send_body(200, orjson.dumps(body))


async def billing_subscription(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    key = await authenticate(ctx, svc.keys)
    b = await asyncio.to_thread(_balance, svc, key)
    await responder.send_body(200, orjson.dumps(balance.billing_subscription(b)))


def _day(text: str, name: str) -> float:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise GatewayError(errors.INVALID_REQUEST, f"{name} must be a date like 2026-01-31.", param=name) from None


async def billing_usage(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    """`?start_date=YYYY-MM-DD&end_date=YYYY-MM-DD` (end exclusive, as OpenAI had it); default: this month."""
    key = await authenticate(ctx, svc.keys)
    query = {k: v[0] for k, v in parse_qs(ctx.path.partition("?")[2]).items()}
    now = datetime.now(UTC)
    start = (
        _day(query["start_date"], "start_date")
        if "start_date" in query
        else now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
    )
    end = _day(query["end_date"], "end_date") if "end_date" in query else time.time() + 1
    body = await asyncio.to_thread(balance.billing_usage, svc.engine, key.id, start, end)
    await responder.send_body(200, orjson.dumps(body))
