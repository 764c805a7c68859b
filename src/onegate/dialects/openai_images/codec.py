"""The Images codec: the body passes through with the upstream's model name; usage is read from the answer
(`usage`, and the number of images in `data`) or from the stream's `*.completed` events."""

from __future__ import annotations

from typing import Any

import orjson

from onegate.accounting.usage import Usage, usage_from_images
from onegate.dialects.openai_chat.stream import ChatStreamRelay
from onegate.dialects.protocols import PassthroughCodec
from onegate.sse import event_json

ENDPOINT = "/images/generations"
EDITS_ENDPOINT = "/images/edits"


def patch_for_upstream(body: dict[str, Any], upstream_model: str, stream: bool) -> dict[str, Any]:
    body["model"] = upstream_model
    return body


def usage_of_body(raw: bytes) -> Usage | None:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    images = data.get("data")
    return usage_from_images(data.get("usage"), len(images) if isinstance(images, list) else 0)


class ImagesStreamRelay(ChatStreamRelay):
    """Pass-through of `image_generation.*` / `image_edit.*` events; usage from each `*.completed` event.
    Errors and keep-alives are framed as Chat's (the same `data: {"error": …}` the SDKs raise from)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(client_wants_usage=True)

    def feed(self, event: bytes) -> bytes | None:
        self.events += 1
        if b".completed" not in event:
            return event
        payload = event_json(event)
        if payload is None or not str(payload.get("type", "")).endswith(".completed"):
            return event
        self.done = True
        got = usage_from_images(payload.get("usage"), 1) or Usage(images=1)
        self.usage = got if self.usage is None else _added(self.usage, got)
        return event


def _added(a: Usage, b: Usage) -> Usage:
    """Two images' usage (n > 1 streams one `completed` event per image)."""
    return Usage(
        input_tokens=max(a.input_tokens, b.input_tokens),  # the prompt is counted once
        cached_tokens=max(a.cached_tokens, b.cached_tokens),
        output_tokens=a.output_tokens + b.output_tokens,
        images=a.images + b.images,
        image_input_tokens=max(a.image_input_tokens, b.image_input_tokens),
        image_output_tokens=a.image_output_tokens + b.image_output_tokens,
        reported=a.reported or b.reported,
    )


def _relay(body: dict[str, Any]) -> ImagesStreamRelay:
    return ImagesStreamRelay()


CODEC = PassthroughCodec(
    name="openai_images",
    endpoint=ENDPOINT,
    patch_for_upstream=patch_for_upstream,
    passthrough_relay=_relay,
    usage_of_body=usage_of_body,
)
