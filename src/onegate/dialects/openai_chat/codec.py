"""The Chat Completions codec."""

from __future__ import annotations

from typing import Any

from onegate.dialects.openai_chat import request, response, stream
from onegate.dialects.protocols import TranslatingCodec


def _passthrough(body: dict[str, Any]) -> stream.ChatStreamRelay:
    return stream.ChatStreamRelay(request.wants_usage_chunk(body))


def _encoder(model: str, created: int, body: dict[str, Any]) -> stream.ChatStreamEncoder:
    return stream.ChatStreamEncoder(model, created, request.wants_usage_chunk(body))


CODEC = TranslatingCodec(
    name="openai_chat",
    endpoint="/chat/completions",
    patch_for_upstream=request.patch_for_upstream,
    passthrough_relay=_passthrough,
    request_to_canonical=request.to_canonical,
    request_from_canonical=request.from_canonical,
    response_to_canonical=response.to_canonical,
    response_from_canonical=response.from_canonical,
    usage_of_body=response.usage_of_body,
    stream_decoder=stream.ChatStreamDecoder,
    stream_encoder=_encoder,
)
