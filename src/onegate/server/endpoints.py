"""The OpenAI-dialect endpoints. Each reads as the hot path: authenticate → admit → route → forward."""

from __future__ import annotations

import asyncio
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
from onegate.observe.timing import ms
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
    body, entry, _ = await _read_and_admit(svc, ctx, receive, check, reserve)
    return body, entry


Early = Callable[[dict[str, Any], "ModelEntry"], None]  # starts the upstream call before admission answers


async def _read_and_admit(
    svc: Services,
    ctx: RequestContext,
    receive: Receive,
    check: Callable[[dict[str, Any]], str],
    reserve: bool = True,
    early: Early | None = None,
) -> tuple[dict[str, Any], ModelEntry, bool]:
    """`read_admitted`, calling `early` when the upstream call may start before admission answers; True
    last: it was started, and must be made again (admission capped the output)."""
    key = await authenticate(ctx, svc.keys)
    raw = await read_body(receive, svc.settings.max_body_bytes)
    body = parse_json_object(raw)
    ctx.model_requested = model = check(body)
    ctx.stream = body.get("stream") is True and SURFACES[ctx.dialect].streams
    entry = resolve_model(svc.registry, model, key, ctx, svc.settings.resolve_model_variants)
    redo = False
    if reserve:
        start = partial(early, body, entry) if early is not None else None
        redo = await admit(svc.admission, ctx, key, entry, body, len(raw), early=start)
    else:
        check_model(key, entry.name)
    now = time.perf_counter()
    if ctx.admission is None:
        ctx.admitted_at = now
    elif ctx.admitted_at is not None:  # marked when the upstream call started
        ctx.admission_ms = (now - ctx.admitted_at) * 1000
    return body, entry, redo


async def proxy(
    svc: Services,
    ctx: RequestContext,
    responder: Responder,
    receive: Receive,
    check: Callable[[dict[str, Any]], str],
    forwarded_headers: dict[str, str] | None = None,
) -> None:
    """The hot path for every model endpoint: authenticate → read → admit → route → forward.

    With speculative admission (accounting/speculation.py) route → forward runs in a task started while
    the counters answer; its answer waits for `ctx.admission`. A refusal (or an unreachable counter store)
    cancels it, closing the upstream connection, and the client gets the refusal."""
    serve = partial(_route_and_forward, svc, ctx, responder, receive, forwarded_headers=forwarded_headers)
    early: asyncio.Task[None] | None = None

    def start(body: dict[str, Any], entry: ModelEntry) -> None:
        nonlocal early
        ctx.admitted_at = time.perf_counter()
        loop = asyncio.get_running_loop()
        ctx.admission = loop.create_future()
        early = loop.create_task(serve(entry, body))

    try:
        body, entry, redo = await _read_and_admit(svc, ctx, receive, check, early=start)
    except BaseException:
        if early is not None:
            await _cancel(ctx, early, "admission did not let it through")
        raise
    if early is None:
        return await serve(entry, body)
    if redo:  # admission lowered the output limit: the body already sent is not the one to serve
        await _cancel(ctx, early, "admission lowered its output limit")
        ctx.attempts.clear()  # the cancelled call is in the notes; it does not use up an attempt
        ctx.admission = None
        return await serve(entry, body)
    gate = ctx.admission
    if gate is not None and not gate.done():  # (done: cancelled, the client went away meanwhile)
        gate.set_result(None)
    await early


async def _route_and_forward(
    svc: Services,
    ctx: RequestContext,
    responder: Responder,
    receive: Receive,
    entry: ModelEntry,
    body: dict[str, Any],
    forwarded_headers: dict[str, str] | None = None,
) -> None:
    route = plan_route(svc.channels, entry)
    await forward(ctx, responder, receive, route, body, ctx.stream, forwarded_headers)


async def _cancel(ctx: RequestContext, early: asyncio.Task[None], why: str) -> None:
    """Cancel an upstream call started before admission answered, and wait until it has let go (its
    connection closed, its channel released); what it raised is dropped: the admission's answer counts."""
    early.cancel()
    await asyncio.wait([early])
    if not early.cancelled():
        early.exception()  # retrieved: it ended before the cancel (a failed attempt), and is superseded
    attempt = ctx.attempts[-1] if ctx.attempts else None
    if attempt is not None and attempt.status is None and attempt.error is None:
        attempt.error = f"cancelled: {why}"
        attempt.duration_ms = ms(time.perf_counter() - attempt.started_at, 2)
    ctx.notes.append(f"the upstream call sent before admission answered was cancelled: {why}")


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
