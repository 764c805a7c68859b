"""Setup guides for every client, filled in with this server's address and a key's models."""

from __future__ import annotations

from collections.abc import Iterable

from onegate.apikeys import KeyRecord
from onegate.setup.guides import CLIENTS, Guide, build_guide
from onegate.setup.inputs import guide_input_for


def guides_for(
    root: str, model_names: Iterable[str], key: KeyRecord | None, lang: str, served: frozenset[str]
) -> list[Guide]:
    """One guide per client (Cursor, Cherry Studio, … curl): the exact fields, files and a one-line test."""
    guide_input = guide_input_for(root, list(model_names), key, lang, served)
    return [build_guide(client, guide_input) for client in CLIENTS]
