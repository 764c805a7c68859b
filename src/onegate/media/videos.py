"""The video surface, OpenAI's Videos API shape: create (JSON or multipart), retrieve, list, content,
delete, remix. onegate owns each task (media/tasks.py): ids are its own, a key sees only its own tasks,
the upstream's id, channel and URLs stay private, and content is streamed through with the caller's key.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson

from onegate import errors
from onegate.accounting.pricing import FREE
from onegate.apikeys import KeyRecord
from onegate.asgi import Receive, Responder, parse_json_object, read_body
from onegate.context import RequestContext
from onegate.dialects.openai_images.wire import VideoCreateRequest, VideoRemixRequest
from onegate.dialects.schema import check_model_name, validate
from onegate.errors import GatewayError
from onegate.media import tasks, webhooks
from onegate.media.adapters.base import Polled, Refused, VideoAdapter, VideoJob
from onegate.media.multipart import boundary_of, parse_form
from onegate.media.service import adapter_for
from onegate.media.tasks import Task, settlement_id
from onegate.pipeline.admit import admit
from onegate.pipeline.authenticate import authenticate
from onegate.pipeline.route import plan_route, resolve_model
from onegate.providers.protocol import UpstreamTransportError

if TYPE_CHECKING:
    from onegate.server.services import Services

_SIZE = re.compile(r"^\d{2,5}x\d{2,5}$")
MAX_SECONDS = 60
VARIANTS = ("video", "thumbnail", "spritesheet")
_CONTENT_HEADERS = ("content-length", "content-range", "accept-ranges", "etag", "last-modified")


def _invalid(message: str, param: str | None = None) -> GatewayError:
    return GatewayError(errors.INVALID_REQUEST, message, param=param)


def _not_found(video_id: str) -> GatewayError:
    return GatewayError(errors.NOT_FOUND, f"No video found with id '{video_id}'.", param="video_id")


def check_create(fields: dict[str, Any]) -> tuple[str, str, str | None, str | None, str | None]:
    """(model, prompt, seconds, size, callback_url) of a create request, or a 400 naming the field."""
    model, prompt = fields.get("model"), fields.get("prompt")
    if not isinstance(model, str) or not model:
        raise _invalid("you must provide a model parameter", "model")
    check_model_name(model)
    if not isinstance(prompt, str) or not prompt:
        raise _invalid("'prompt' is required and must be a non-empty string", "prompt")
    seconds = fields.get("seconds")
    if isinstance(seconds, int) and not isinstance(seconds, bool):
        seconds = str(seconds)
    if seconds is not None and (
        not isinstance(seconds, str) or not seconds.isdigit() or not 1 <= int(seconds) <= MAX_SECONDS
    ):
        raise _invalid(f"'seconds' must be a whole number of seconds from 1 to {MAX_SECONDS}, such as \"4\"", "seconds")
    size = fields.get("size")
    if size is not None and (not isinstance(size, str) or not _SIZE.match(size)):
        raise _invalid("'size' must be WIDTHxHEIGHT, such as \"720x1280\"", "size")
    callback = fields.get("callback_url")
    if callback is not None:
        try:
            webhooks.check_url(callback if isinstance(callback, str) else "")
        except ValueError as exc:
            raise _invalid(str(exc), "callback_url") from None
    return model, prompt, seconds, size, callback


async def create(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    key = await authenticate(ctx, svc.keys)
    boundary = boundary_of(ctx.headers.get("content-type", ""))
    raw = await read_body(receive, svc.settings.max_body_bytes)
    form = parse_form(raw, boundary) if boundary is not None else None
    if form is not None:
        fields: dict[str, Any] = {n: form.field(n) for n in ("model", "prompt", "seconds", "size", "callback_url")}
        fields = {k: v for k, v in fields.items() if v is not None}
        if form.count_files("input_reference") > 1:
            raise _invalid("send at most one 'input_reference' file", "input_reference")
    else:
        fields = parse_json_object(raw)
        if "model" in fields:  # a missing model gets the message every surface gives
            validate(fields, VideoCreateRequest)
    model, prompt, seconds, size, callback = check_create(fields)
    if callback is not None:
        await _require_secret(svc, key)
    ctx.model_requested = model
    entry = resolve_model(svc.registry, model, key, ctx, svc.settings.resolve_model_variants)
    price = entry.price.for_video(size)
    amount = round(int(seconds or 4) * price.per_second) + price.per_request if not price.free else 0
    task_id = tasks.new_task_id()
    # named for the charge that will settle it: the task's end is logged as `req_{task id}`
    await admit(svc.admission, ctx, key, entry, {}, len(raw), amount=amount, rid=settlement_id(task_id))
    job = VideoJob(
        entry.targets[0].upstream_model,
        prompt,
        seconds,
        size,
        form if form and form.count_files("input_reference") else None,
    )
    await _submit(svc, ctx, responder, key, entry, job, price, callback, None, task_id)


async def _submit(
    svc: Services,
    ctx: RequestContext,
    responder: Responder,
    key: KeyRecord,
    entry: Any,
    job: VideoJob,
    price: Any,
    callback: str | None,
    remixed_from: Task | None,
    task_id: str,
) -> None:
    """Submit on the first channel that takes it; the task then owns the reservation admission made."""
    reservation = ctx.reservation
    ctx.price = FREE  # the submit costs nothing itself: the task is billed when it ends (service.bill)
    targets = [t for t in entry.targets if remixed_from is None or t.channel == remixed_from.channel]
    polled, target = await _first_taker(
        svc, ctx, plan_route(svc.channels, entry).targets if remixed_from is None else targets, job
    )
    now = time.time()
    row = {
        "id": task_id,
        "kind": "video",
        "key_id": key.id,
        "key_mask": key.mask,
        "team_id": key.team_id,
        "request_id": ctx.request_id,
        "model": entry.name,
        "channel": target.channel,
        "upstream_model": target.upstream_model,
        "upstream_id": polled.upstream_id,
        "status": polled.status if polled.status in tasks.OPEN else "queued",
        "progress": polled.progress,
        "prompt": job.prompt,
        "seconds": polled.seconds or job.seconds or "4",
        "size": polled.size or job.size,
        "remixed_from": remixed_from.id if remixed_from else None,
        "created_at": now,
        "next_poll_at": now + (polled.poll_after if polled.poll_after is not None else svc.settings.media.poll_seconds),
        "polls": 0,
        "reservation": tasks.dumps(_as_dict(reservation)) if reservation else None,
        "price": tasks.dumps(price.as_dict()),
        "cost_micros": 0,
        "callback_url": callback,
        "history": tasks.dumps([[round(now, 3), "queued", polled.progress]]),
        "upstream_data": tasks.dumps(polled.data),
    }
    await asyncio.to_thread(tasks.insert, svc.engine, row)
    if reservation is not None:  # the task holds it now (renewed by Media.renew_forever), settled when it ends
        svc.reservations.hand_over(reservation.rid)
    ctx.reservation = None
    ctx.notes.append(f"video task {task_id}")
    task = await asyncio.to_thread(tasks.get, svc.engine, task_id)
    assert task is not None
    await responder.send_body(200, orjson.dumps(task.as_video()))


def _as_dict(reservation: Any) -> dict[str, Any]:
    return {f: getattr(reservation, f) for f in reservation.__slots__}


async def _first_taker(svc: Services, ctx: RequestContext, targets: list[Any], job: VideoJob) -> tuple[Polled, Any]:
    """Fail over like the request path: the next channel on a channel's fault, never on the caller's 4xx."""
    last: GatewayError | None = None
    for target in targets[: svc.settings.routing.max_attempts]:
        adapter = adapter_for(target)
        if adapter is None:
            last = _invalid(f"The model '{ctx.model_requested}' is not a video model on its channel.", "model")
            continue
        ctx.channel, ctx.model_routed = target.channel, target.upstream_model
        job_here = VideoJob(target.upstream_model, job.prompt, job.seconds, job.size, job.form, job.remix_of)
        started = time.perf_counter()
        try:
            polled = await adapter.submit(job_here)
        except Refused as exc:
            if not exc.channel_fault:
                raise exc.error from None
            last = exc.error
            await svc.channels.failed(target.channel, exc.error.message)
        except UpstreamTransportError as exc:
            last = GatewayError(exc.kind, f"Upstream channel '{target.channel}': {exc}.")
            await svc.channels.failed(target.channel, str(exc))
        else:  # the channel's breaker counts the success as for any request
            await svc.channels.succeeded(target.channel, (time.perf_counter() - started) * 1000)
            return polled, target
    raise last or GatewayError(errors.ALL_CHANNELS_UNAVAILABLE, "No channel can take this video task right now.")


async def _require_secret(svc: Services, key: KeyRecord) -> None:
    secret, _ = await asyncio.to_thread(webhooks.key_settings, svc.engine, key.id)
    if secret is None:
        raise _invalid(
            f"API key {key.mask} has no callback signing secret yet, so a receiver could not verify a callback. "
            f"Create one with `onegate keys webhook-secret {key.name}` (or the management API), then retry.",
            "callback_url",
        )


# reading tasks ---------------------------------------------------------------------------------------


def _video_id(ctx: RequestContext) -> str:
    path = ctx.path.split("?", 1)[0].rstrip("/")
    after = path.split("/videos/", 1)[1]
    return after.split("/", 1)[0]


def _query(ctx: RequestContext) -> dict[str, str]:
    query = ctx.path.partition("?")[2]
    return {k: v[-1] for k, v in parse_qs(query).items()}


async def _own_task(svc: Services, ctx: RequestContext) -> tuple[KeyRecord, Task]:
    key = await authenticate(ctx, svc.keys)
    video_id = _video_id(ctx)
    task = await asyncio.to_thread(tasks.get, svc.engine, video_id)
    if task is None or not tasks.visible(task, key.id):
        raise _not_found(video_id)
    ctx.model_requested = task.model
    return key, task


async def retrieve(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    _, task = await _own_task(svc, ctx)
    video = task.as_video()
    if not task.open:
        sent = await asyncio.to_thread(webhooks.deliveries_of, svc.engine, task.id)
        if sent:  # an onegate extra: how the task's callbacks went (what `onegate doctor --video` reports)
            video["callbacks"] = [callback_summary(d) for d in sent]
    await responder.send_body(200, orjson.dumps(video))


def callback_summary(delivery: webhooks.Delivery) -> dict[str, Any]:
    last = delivery.attempts[-1] if delivery.attempts else {}
    return {
        "id": delivery.id,
        "type": delivery.event_type,
        "state": delivery.state,
        "attempts": len(delivery.attempts),
        "last_status": last.get("status"),
        "last_error": last.get("error"),
    }


async def list_videos(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    key = await authenticate(ctx, svc.keys)
    query = _query(ctx)
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise _invalid("'order' must be 'asc' or 'desc'", "order")
    limit_text = query.get("limit", "20")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
        raise _invalid("'limit' must be from 1 to 100", "limit")
    limit = int(limit_text)
    page = await asyncio.to_thread(tasks.list_tasks, svc.engine, key.id, query.get("after"), limit + 1, order)
    data = [t.as_video() for t in page[:limit]]
    body = {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(page) > limit,
    }
    await responder.send_body(200, orjson.dumps(body))


def _adapter(svc: Services, task: Task) -> VideoAdapter:
    adapter = svc.media.adapter(task.channel, task.model)
    if adapter is None:
        raise GatewayError(
            errors.UPSTREAM_UNREACHABLE, f"The channel that ran video '{task.id}' is no longer configured."
        )
    return adapter


async def content(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    _, task = await _own_task(svc, ctx)
    variant = _query(ctx).get("variant", "video")
    if variant not in VARIANTS:
        raise _invalid(f"'variant' must be one of {', '.join(VARIANTS)}", "variant")
    if task.status != "completed":
        raise _invalid(
            f"Video '{task.id}' is {task.status}; its content is available once it is completed.", "video_id"
        )
    if task.expires_at is not None and task.expires_at < time.time():
        raise GatewayError(errors.NOT_FOUND, f"The content of video '{task.id}' has expired.", param="video_id")
    adapter = _adapter(svc, task)
    try:
        response = await adapter.content(task.upstream_id, task.upstream_data, variant, ctx.headers.get("range"))
    except Refused as exc:
        raise exc.error from None
    except UpstreamTransportError as exc:
        raise GatewayError(exc.kind, f"Fetching the content of video '{task.id}' failed: {exc}.") from None
    try:
        headers = {k: response.headers[k] for k in _CONTENT_HEADERS if k in response.headers}
        kind = response.headers.get("content-type", "video/mp4" if variant == "video" else "application/octet-stream")
        await responder.start_body(response.status, kind.encode("latin-1"), headers)
        while (chunk := await response.next_chunk()) is not None:
            await responder.stream_chunk(chunk)
        await responder.end_stream()
    finally:
        response.close()


async def delete(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    _, task = await _own_task(svc, ctx)
    adapter = svc.media.adapter(task.channel, task.model)
    if adapter is not None:
        try:
            await adapter.cancel(task.upstream_id, task.upstream_data)
        except (Refused, UpstreamTransportError) as exc:
            ctx.notes.append(f"upstream cancel failed: {exc}")
    if task.open:
        await svc.media.finish(task, "failed", {}, error=("cancelled", "The video task was cancelled."))
    else:
        await asyncio.to_thread(tasks.expire, svc.engine, task.id)
    await responder.send_body(200, orjson.dumps({"id": task.id, "object": "video.deleted", "deleted": True}))


async def remix(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    key, task = await _own_task(svc, ctx)
    body = parse_json_object(await read_body(receive, svc.settings.max_body_bytes))
    validate(body, VideoRemixRequest)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise _invalid("'prompt' is required and must be a non-empty string", "prompt")
    if task.status != "completed":
        raise _invalid(f"Video '{task.id}' is {task.status}; only a completed video can be remixed.", "video_id")
    adapter = _adapter(svc, task)
    if not adapter.can_remix:
        raise _invalid(f"The upstream of model '{task.model}' cannot remix videos.", "video_id")
    entry = resolve_model(svc.registry, task.model, key, ctx)
    price = entry.price.for_video(task.size)
    amount = round(int(task.seconds or 4) * price.per_second) + price.per_request if not price.free else 0
    task_id = tasks.new_task_id()
    await admit(svc.admission, ctx, key, entry, {}, 0, amount=amount, rid=settlement_id(task_id))
    job = VideoJob(task.upstream_model, prompt, task.seconds, task.size, None, task.upstream_id)
    await _submit(svc, ctx, responder, key, entry, job, price, task.callback_url, task, task_id)
