"""The Messages codecs: `/messages` both ways, and
`/messages/count_tokens`, which only an Anthropic upstream can answer (others get a local estimate)."""

from __future__ import annotations

from typing import Any

from onegate.dialects.anthropic_messages import request, response, stream
from onegate.dialects.protocols import PassthroughCodec, TranslatingCodec


def _passthrough(body: dict[str, Any]) -> stream.MessagesStreamRelay:
    return stream.MessagesStreamRelay()


CODEC = TranslatingCodec(
    name="anthropic_messages",
    endpoint="/messages",
    patch_for_upstream=request.patch_for_upstream,
    passthrough_relay=_passthrough,
    usage_of_body=response.usage_of_body,
    request_to_canonical=request.to_canonical,
    request_from_canonical=request.from_canonical,
    response_to_canonical=response.to_canonical,
    response_from_canonical=response.from_canonical,
    stream_decoder=stream.MessagesStreamDecoder,
    stream_encoder=stream.MessagesStreamEncoder,
)
COUNT_TOKENS = PassthroughCodec(
    name="anthropic_count_tokens",
    endpoint="/messages/count_tokens",
    patch_for_upstream=request.patch_for_upstream,
    passthrough_relay=_passthrough,
    usage_of_body=response.no_usage,
)
