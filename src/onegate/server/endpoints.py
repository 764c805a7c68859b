"""The OpenAI-dialect endpoints. Each reads as the hot path: authenticate → admit → route → forward."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from onegate import errors
from onegate.asgi import Receive, Responder, parse_json_object, read_body
from onegate.context import RequestContext
from onegate.dialects.openai_chat.request import require_fields
from onegate.dialects.openai_responses import request as responses_request
from onegate.dialects.openai_responses.codec import RESPONSES_IN_CHAT_OUT
from onegate.dialects.schema import check_model_name
from onegate.errors import GatewayError
from onegate.pipeline.admit import admit, check_model
from onegate.pipeline.authenticate import authenticate
from onegate.pipeline.forward import forward
from onegate.pipeline.route import plan_route, resolve_model
from onegate.surfaces import SURFACES

if TYPE_CHECKING:
    from onegate.providers.registry import ModelEntry
    from onegate.server.services import Services


async def read_admitted(
    svc: Services,
    ctx: RequestContext,
    receive: Receive,
    check: Callable[[dict[str, Any]], str],
    reserve: bool = True,
) -> tuple[dict[str, Any], ModelEntry]:
    """authenticate → read → admit → route: the body and the model entry that will serve it.

    `check` validates the body in the endpoint's dialect and returns the requested model. `reserve`:
    apply limits and reserve the estimated cost; off for free calls such as count_tokens (Claude Code
    sends dozens), which only need the model permission.
    """
    key = await authenticate(ctx, svc.keys)
    raw = await read_body(receive, svc.settings.max_body_bytes)
    body = parse_json_object(raw)
    ctx.model_requested = model = check(body)
    ctx.stream = body.get("stream") is True and SURFACES[ctx.dialect].streams
    entry = resolve_model(svc.registry, model, key, ctx, svc.settings.resolve_model_variants)
    if reserve:
        await admit(svc.admission, ctx, key, entry, body, len(raw))
    else:
        check_model(key, entry.name)
    ctx.admitted_at = time.perf_counter()
    return body, entry


async def proxy(
    svc: Services,
    ctx: RequestContext,
    responder: Responder,
    receive: Receive,
    check: Callable[[dict[str, Any]], str],
    forwarded_headers: dict[str, str] | None = None,
) -> None:
    """The hot path for every model endpoint: authenticate → read → admit → route → forward."""
    body, entry = await read_admitted(svc, ctx, receive, check)
    route = plan_route(svc.channels, entry)
    await forward(ctx, responder, receive, route, body, ctx.stream, forwarded_headers)


async def chat_completions(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await proxy(svc, ctx, responder, receive, partial(_check_chat, ctx))


def _check_chat(ctx: RequestContext, body: dict[str, Any]) -> str:
    """Chat's checks; a Responses-shaped body (Cursor's known bug) is read as Responses, answered in Chat."""
    if responses_request.looks_like_responses(body):
        ctx.dialect = RESPONSES_IN_CHAT_OUT
        ctx.notes.append("Responses-shaped body on /chat/completions (Cursor): read as Responses, answered as Chat")
        return responses_request.validate(body)
    return require_fields(body, "chat")


async def completions(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await proxy(svc, ctx, responder, receive, partial(require_fields, endpoint="completions"))


async def embeddings(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await proxy(svc, ctx, responder, receive, partial(require_fields, endpoint="embeddings"))


def _model_object(svc: Services, name: str) -> dict[str, object]:
    entry = svc.registry.get(name)
    return {"id": name, "object": "model", "created": 0, "owned_by": entry.owned_by if entry else "onegate"}


async def list_models(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    key = await authenticate(ctx, svc.keys)
    data = [_model_object(svc, name) for name in svc.registry.names if key.allows(name)]
    await responder.send_body(200, orjson.dumps({"object": "list", "data": data}))


async def model_in_path(svc: Services, ctx: RequestContext) -> str:
    """`GET /models/{id}`: the id, once the caller is known and may see it (else a 404 in their dialect)."""
    key = await authenticate(ctx, svc.keys)
    name = ctx.path.split("?", 1)[0].rstrip("/").rsplit("/models/", 1)[-1]
    check_model_name(name, param="model")
    ctx.model_requested = name
    resolve_model(svc.registry, name, key, ctx)
    if not key.allows(name):
        raise GatewayError(errors.MODEL_NOT_FOUND, f"The model '{name}' does not exist or you do not have access.")
    return name


async def get_model(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    name = await model_in_path(svc, ctx)
    await responder.send_body(200, orjson.dumps(_model_object(svc, name)))


async def healthz(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await responder.send_body(200, orjson.dumps({"status": "ok", "log_queue": svc.writer.depth}))
