"""What a guide is built from: the public address and the models the chosen key may use."""

from __future__ import annotations

from collections.abc import Iterable

from onegate.apikeys import KeyRecord
from onegate.setup.guides import GuideInput


def guide_input_for(
    root: str, model_names: Iterable[str], key: KeyRecord | None, lang: str, served: frozenset[str]
) -> GuideInput:
    """Without a key: every model this server serves. With one: those the key may use, and its mask."""
    models = tuple(name for name in model_names if key is None or key.allows(name))
    return GuideInput(root.rstrip("/"), models, lang, key.mask if key else None, served)
