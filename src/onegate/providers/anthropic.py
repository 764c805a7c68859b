"""Anthropic's own API (`type: anthropic` channels): `x-api-key`, `anthropic-version`, `anthropic-beta`.

The client's `anthropic-version` and `anthropic-beta` are forwarded on purpose (the endpoint picks them
with `forwarded_headers`, the forwarding step passes them only to an upstream of the client's own
dialect): betas switch on the request fields Claude Code sends, and Anthropic refuses those fields
without them. Nothing else of the client's headers goes upstream. Without a client version (a Chat
client on a Claude model) the request says `2023-06-01`.
"""

from __future__ import annotations

from onegate.providers.http import HttpChannel

DEFAULT_VERSION = "2023-06-01"
FORWARDED = ("anthropic-version", "anthropic-beta")


class AnthropicProvider(HttpChannel):
    dialect = "anthropic_messages"
    native_dialects = frozenset({"anthropic_messages", "anthropic_count_tokens"})

    def auth_headers(self, secret: str) -> dict[str, str]:
        return {"x-api-key": secret}

    def _base_headers(self, stream: bool, secret: str) -> dict[str, str]:
        return {**super()._base_headers(stream, secret), "anthropic-version": DEFAULT_VERSION}


def forwarded_headers(client_headers: dict[str, str]) -> dict[str, str]:
    """The client headers an Anthropic upstream must see (names lower-case, as the server gives them)."""
    return {name: client_headers[name] for name in FORWARDED if client_headers.get(name)}
