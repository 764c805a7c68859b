"""The OpenAI-dialect endpoints. Each reads as the hot path: authenticate → admit → route → forward."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from onegate import errors
from onegate.context import RequestContext
from onegate.dialects.openai_chat.request import require_fields
from onegate.errors import GatewayError
from onegate.pipeline.admit import admit
from onegate.pipeline.authenticate import authenticate
from onegate.pipeline.forward import forward
from onegate.pipeline.route import resolve_model
from onegate.server.http import Receive, Responder, parse_json_object, read_body

if TYPE_CHECKING:
    from onegate.app import Gateway


async def proxy(
    gw: Gateway,
    ctx: RequestContext,
    responder: Responder,
    receive: Receive,
    check: Callable[[dict[str, Any]], str],
    forwarded_headers: dict[str, str] | None = None,
) -> None:
    """The hot path for every model endpoint: authenticate → read → admit → route → forward.

    `check` validates the body in the endpoint's dialect and returns the requested model.
    """
    key = await authenticate(ctx, gw.keys)
    raw = await read_body(receive, gw.settings.max_body_bytes)
    body = parse_json_object(raw)
    ctx.model_requested = model = check(body)
    stream = body.get("stream") is True and ctx.dialect != "openai_embeddings"
    ctx.stream = stream
    entry = resolve_model(gw.registry, model, key)
    await admit(gw.admission, ctx, key, entry, body, len(raw))
    await forward(ctx, responder, receive, entry, body, stream, forwarded_headers)


async def chat_completions(gw: Gateway, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await proxy(gw, ctx, responder, receive, partial(require_fields, endpoint="chat"))


async def completions(gw: Gateway, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await proxy(gw, ctx, responder, receive, partial(require_fields, endpoint="completions"))


async def embeddings(gw: Gateway, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await proxy(gw, ctx, responder, receive, partial(require_fields, endpoint="embeddings"))


def _model_object(gw: Gateway, name: str) -> dict[str, object]:
    entry = gw.registry.get(name)
    return {"id": name, "object": "model", "created": 0, "owned_by": entry.owned_by if entry else "onegate"}


async def list_models(gw: Gateway, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    key = await authenticate(ctx, gw.keys)
    data = [_model_object(gw, name) for name in gw.registry.names if key.allows(name)]
    await responder.send_body(200, orjson.dumps({"object": "list", "data": data}))


async def get_model(gw: Gateway, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    key = await authenticate(ctx, gw.keys)
    name = ctx.path.split("?", 1)[0].rstrip("/").rsplit("/models/", 1)[-1]
    ctx.model_requested = name
    resolve_model(gw.registry, name, key)
    if not key.allows(name):
        raise GatewayError(errors.MODEL_NOT_FOUND, f"The model '{name}' does not exist or you do not have access.")
    await responder.send_body(200, orjson.dumps(_model_object(gw, name)))


async def healthz(gw: Gateway, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await responder.send_body(200, orjson.dumps({"status": "ok", "log_queue": gw.writer.depth}))
