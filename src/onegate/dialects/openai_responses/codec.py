"""The Responses codec, and the Chat codec that reads a Responses body (Cursor's quirk), and its Chat-answering twin.

Cursor, for OpenAI-family models, POSTs a Responses-shaped body (`input`, flat tools, `type: custom`) to
`/chat/completions` and parses the answer as Chat Completions. `RESPONSES_IN_CHAT_OUT` is the Chat codec
with one difference — the request is read as Responses — so the hub translates it to any upstream and
answers in Chat, stream or not, with no translation code of its own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

from onegate.dialects.openai_chat import codec as chat_codec
from onegate.dialects.openai_responses import request, response, stream
from onegate.dialects.protocols import TranslatingCodec

RESPONSES_IN_CHAT_OUT: Final = "openai_chat_responses_body"


def _passthrough(body: dict[str, Any]) -> stream.ResponsesStreamRelay:
    return stream.ResponsesStreamRelay()


CODEC = TranslatingCodec(
    name="openai_responses",
    endpoint="/responses",
    patch_for_upstream=request.patch_for_upstream,
    passthrough_relay=_passthrough,
    usage_of_body=response.usage_of_body,
    request_to_canonical=request.to_canonical,
    request_from_canonical=request.from_canonical,
    response_to_canonical=response.to_canonical,
    response_from_canonical=response.from_canonical,
    stream_decoder=stream.ResponsesStreamDecoder,
    stream_encoder=stream.ResponsesStreamEncoder,
)
CHAT_ANSWERING = replace(chat_codec.CODEC, name=RESPONSES_IN_CHAT_OUT, request_to_canonical=request.to_canonical)
