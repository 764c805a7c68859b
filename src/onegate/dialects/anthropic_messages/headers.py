"""The client headers the Anthropic dialect carries upstream on purpose (see providers/anthropic.py)."""

from __future__ import annotations

DEFAULT_VERSION = "2023-06-01"
FORWARDED = ("anthropic-version", "anthropic-beta")


def forwarded_headers(client_headers: dict[str, str]) -> dict[str, str]:
    """The client headers an Anthropic upstream must see (names lower-case, as the server gives them)."""
    return {name: client_headers[name] for name in FORWARDED if client_headers.get(name)}
