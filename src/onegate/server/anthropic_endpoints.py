"""The Anthropic-dialect endpoints (clients set `ANTHROPIC_BASE_URL=https://HOST/api`).

`POST /messages` is the shared hot path with the client's `anthropic-version` and `anthropic-beta`
headers passed along for Anthropic upstreams. `POST /messages/count_tokens` never 404s for a model the
gateway serves: an Anthropic channel counts, any other gets a local estimate, said so in a header.
`GET /models` answers in Anthropic's list shape for Anthropic clients, and `HEAD /api` (Claude Code's
connection warm-up) gets a plain 200.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from onegate.asgi import Receive, Responder
from onegate.context import RequestContext
from onegate.dialects.anthropic_messages.headers import forwarded_headers
from onegate.dialects.anthropic_messages.request import estimate_input_tokens, require_fields
from onegate.pipeline.authenticate import authenticate
from onegate.pipeline.forward import forward
from onegate.pipeline.route import plan_route
from onegate.server.endpoints import model_in_path, proxy, read_admitted

if TYPE_CHECKING:
    from onegate.server.services import Services

ESTIMATE_HEADER = "x-onegate-token-count"
EPOCH = "1970-01-01T00:00:00Z"  # Anthropic's own value for "release date unknown"


def speaks_anthropic(headers: dict[str, str]) -> bool:
    """Anthropic's SDKs and Claude Code always send `anthropic-version`; `x-api-key` alone counts too,
    but not beside a Bearer token: older Cherry Studio sends both and reads OpenAI's list shape."""
    return "anthropic-version" in headers or ("x-api-key" in headers and "authorization" not in headers)


async def messages(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await proxy(svc, ctx, responder, receive, require_fields, forwarded_headers(ctx.headers))


async def count_tokens(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    body, entry = await read_admitted(svc, ctx, receive, require_fields, reserve=False)  # counting is free
    target = entry.targets[0]
    if ctx.dialect in target.provider.native_dialects:
        route = plan_route(svc.channels, entry)
        await forward(ctx, responder, receive, route, body, False, forwarded_headers(ctx.headers))
        return
    ctx.model_routed = target.upstream_model
    ctx.stream = False
    ctx.notes.append(f"count_tokens estimated locally: channel '{target.provider.name}' cannot count")
    count = orjson.dumps({"input_tokens": estimate_input_tokens(body)})
    await responder.send_body(200, count, headers={ESTIMATE_HEADER: "estimate"})


def _model_info(name: str) -> dict[str, str]:
    return {"type": "model", "id": name, "display_name": name, "created_at": EPOCH}


async def list_models(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    ctx.dialect = "anthropic_models"  # errors in Anthropic's shape from here on
    key = await authenticate(ctx, svc.keys)
    names = [name for name in svc.registry.chat_names if key.allows(name)]
    listing = {
        "data": [_model_info(name) for name in names],
        "has_more": False,
        "first_id": names[0] if names else None,
        "last_id": names[-1] if names else None,
    }
    await responder.send_body(200, orjson.dumps(listing))


async def get_model(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    ctx.dialect = "anthropic_models"
    name = await model_in_path(svc, ctx)
    await responder.send_body(200, orjson.dumps(_model_info(name)))


async def warm_up(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await responder.send_body(200, b"", content_type=b"text/plain")
