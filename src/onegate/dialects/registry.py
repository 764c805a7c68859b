"""Every codec by name, listed here once: the planner (`pairs.py`) looks codecs up in `CODECS`.

A new dialect adds its codec module and one line below (and its surface to `surfaces.py`).
"""

from __future__ import annotations

from onegate.dialects.anthropic_messages import codec as messages
from onegate.dialects.openai_chat import codec as chat
from onegate.dialects.openai_chat import passthrough_codecs as legacy
from onegate.dialects.openai_images import codec as images
from onegate.dialects.openai_responses import codec as responses
from onegate.dialects.protocols import PassthroughCodec

CODECS: dict[str, PassthroughCodec] = {
    codec.name: codec
    for codec in (
        chat.CODEC,
        legacy.COMPLETIONS,
        legacy.EMBEDDINGS,
        responses.CODEC,
        responses.CHAT_ANSWERING,
        messages.CODEC,
        messages.COUNT_TOKENS,
        images.CODEC,
    )
}
