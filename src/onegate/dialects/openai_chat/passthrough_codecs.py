"""Legacy Completions and Embeddings: OpenAI-only endpoints, served by pass-through alone."""

from __future__ import annotations

from typing import Any

from onegate.dialects.openai_chat import request, response, stream
from onegate.dialects.protocols import PassthroughCodec


def _passthrough(body: dict[str, Any]) -> stream.ChatStreamRelay:
    # Completions streams have the same framing and usage chunk as Chat's.
    return stream.ChatStreamRelay(request.wants_usage_chunk(body))


COMPLETIONS, EMBEDDINGS = (
    PassthroughCodec(
        name=name,
        endpoint=endpoint,
        patch_for_upstream=request.patch_for_upstream,
        passthrough_relay=_passthrough,
        usage_of_body=response.usage_of_body,
    )
    for name, endpoint in (("openai_completions", "/completions"), ("openai_embeddings", "/embeddings"))
)
