"""Every codec by name, listed here once: the planner (`pairs.py`) looks codecs up in `CODECS`.

A new dialect adds its codec module and one line below (and its surface to `surfaces.py`). A codec's module
is imported the first time a request needs it: all of them together were about a tenth of what `onegate
serve` imported before its first request, and most servers only ever use one or two.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from onegate.dialects.protocols import PassthroughCodec

# codec name → (module, attribute)
WHERE: dict[str, tuple[str, str]] = {
    "openai_chat": ("onegate.dialects.openai_chat.codec", "CODEC"),
    "openai_completions": ("onegate.dialects.openai_chat.passthrough_codecs", "COMPLETIONS"),
    "openai_embeddings": ("onegate.dialects.openai_chat.passthrough_codecs", "EMBEDDINGS"),
    "openai_responses": ("onegate.dialects.openai_responses.codec", "CODEC"),
    "openai_chat_responses_body": ("onegate.dialects.openai_responses.codec", "CHAT_ANSWERING"),
    "anthropic_messages": ("onegate.dialects.anthropic_messages.codec", "CODEC"),
    "anthropic_count_tokens": ("onegate.dialects.anthropic_messages.codec", "COUNT_TOKENS"),
    "openai_images": ("onegate.dialects.openai_images.codec", "CODEC"),
}


class _Codecs(Mapping[str, PassthroughCodec]):
    """`WHERE`'s codecs, each imported on first lookup and then kept."""

    def __init__(self) -> None:
        self._loaded: dict[str, PassthroughCodec] = {}

    def __getitem__(self, name: str) -> PassthroughCodec:
        codec = self._loaded.get(name)
        if codec is None:
            module, attribute = WHERE[name]  # KeyError: no such codec, as a dict would say
            codec = self._loaded[name] = getattr(importlib.import_module(module), attribute)
        return codec

    def __iter__(self) -> Iterator[str]:
        return iter(WHERE)

    def __len__(self) -> int:
        return len(WHERE)


CODECS: Mapping[str, PassthroughCodec] = _Codecs()
