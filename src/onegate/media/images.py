"""`/images/generations` (JSON) and `/images/edits` (multipart): authenticate → admit → route → forward.

Both pass through to OpenAI-compatible channels (the `openai_images` codec); billing reads `usage`
(text in, image in, image out at their own rates) when the upstream reports it, else the per-image price
for the request's (size, quality). `n`, `size` and `quality` go into the log row's notes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from onegate import errors
from onegate.accounting.pricing import Price, estimate_micros
from onegate.accounting.usage import estimate_tokens
from onegate.asgi import Receive, Responder, parse_json_object, read_body
from onegate.context import RequestContext
from onegate.dialects.openai_images.codec import EDITS_ENDPOINT, ImagesStreamRelay, usage_of_body
from onegate.dialects.openai_images.wire import ImageGenerationRequest
from onegate.dialects.pairs import Plan
from onegate.dialects.schema import check_model_name, validate
from onegate.errors import GatewayError
from onegate.media.multipart import Form, boundary_of, parse_form
from onegate.pipeline.admit import admit
from onegate.pipeline.authenticate import authenticate
from onegate.pipeline.forward import forward
from onegate.pipeline.route import plan_route, resolve_model
from onegate.providers.registry import ModelEntry, Target

if TYPE_CHECKING:
    from onegate.server.services import Services

DIALECT = "openai_images"
MAX_IMAGES = 10
MAX_EDIT_IMAGES = 16
# Image tokens one generated image may cost at most (gpt-image-1, high quality, 1536x1024): the reservation.
IMAGE_OUTPUT_TOKENS = 6240


def _invalid(message: str, param: str) -> GatewayError:
    return GatewayError(errors.INVALID_REQUEST, message, param=param)


def check_fields(model: Any, prompt: Any, n: Any) -> str:
    """The checks both endpoints share (after the schema's, for a JSON body); returns the model."""
    if not isinstance(model, str) or not model:
        raise _invalid("you must provide a model parameter", "model")
    check_model_name(model)
    if not isinstance(prompt, str) or not prompt:
        raise _invalid("'prompt' is required and must be a non-empty string", "prompt")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_IMAGES):
        raise _invalid(f"'n' must be an integer from 1 to {MAX_IMAGES}", "n")
    return model


def image_estimate(price: Price, n: int, prompt_bytes: int) -> int:
    """The most `n` images may cost: the prompt, and per image the larger of its price and its tokens."""
    if price.free:
        return 0
    per_image = max(
        price.per_image, estimate_micros(replace(Price(), output=price.image_output), 0, IMAGE_OUTPUT_TOKENS)
    )
    return estimate_micros(price, estimate_tokens(prompt_bytes), 0) + n * per_image


async def _admitted(
    svc: Services, ctx: RequestContext, model: str, size: str | None, quality: str | None, n: int, length: int
) -> tuple[ModelEntry, Price]:
    key = ctx.key
    assert key is not None
    ctx.model_requested = model
    entry = resolve_model(svc.registry, model, key, ctx, svc.settings.resolve_model_variants)
    price = entry.price.for_image(size, quality)
    await admit(svc.admission, ctx, key, entry, {}, length, amount=image_estimate(price, n, length))
    ctx.notes.append(f"image: n={n} size={size or 'default'} quality={quality or 'default'}")
    return replace(entry, price=price), price


async def generations(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await authenticate(ctx, svc.keys)
    raw = await read_body(receive, svc.settings.max_body_bytes)
    body = parse_json_object(raw)
    if "model" not in body:
        raise _invalid("you must provide a model parameter", "model")
    validate(body, ImageGenerationRequest)
    model = check_fields(body.get("model"), body.get("prompt"), body.get("n"))
    ctx.stream = body.get("stream") is True
    size, quality = _text(body.get("size")), _text(body.get("quality"))
    entry, _ = await _admitted(svc, ctx, model, size, quality, body.get("n") or 1, len(raw))
    await forward(ctx, responder, receive, plan_route(svc.channels, entry), body, ctx.stream)


async def edits(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await authenticate(ctx, svc.keys)
    boundary = boundary_of(ctx.headers.get("content-type", ""))
    if boundary is None:
        raise GatewayError(
            errors.INVALID_REQUEST, "/images/edits takes a multipart/form-data body (the image files and fields)."
        )
    form = parse_form(await read_body(receive, svc.settings.max_body_bytes), boundary)
    n_text = form.field("n")
    n: Any = int(n_text) if n_text and n_text.isdigit() else n_text
    model = check_fields(form.field("model"), form.field("prompt"), n)
    images = form.count_files("image", "image[]")
    if not 1 <= images <= MAX_EDIT_IMAGES:
        raise _invalid(f"send 1 to {MAX_EDIT_IMAGES} image files in 'image' or 'image[]' (got {images})", "image")
    ctx.stream = form.field("stream") == "true"
    entry, _ = await _admitted(svc, ctx, model, form.field("size"), form.field("quality"), n or 1, len(form.body))
    await forward(
        ctx,
        responder,
        receive,
        plan_route(svc.channels, entry),
        {},
        ctx.stream,
        {"Content-Type": form.content_type},
        planner=lambda target, dialect: edit_plan(form, target, dialect),
    )


def edit_plan(form: Form, target: Target, dialect: str) -> Plan:
    """One attempt at an edit: the client's form, its `model` field swapped for the channel's name for it."""
    if dialect != DIALECT:
        raise GatewayError(
            errors.INVALID_REQUEST,
            f"The model is served by a {dialect} upstream, which cannot edit images.",
            param="model",
        )
    return Plan(
        EDITS_ENDPOINT,
        b"",
        lambda raw: (raw, usage_of_body(raw)),
        ImagesStreamRelay,
        [],
        form.with_field("model", target.upstream_model),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
