"""Anthropic's own API (`type: anthropic` channels): `x-api-key`, `anthropic-version`, `anthropic-beta`.

The client's `anthropic-version` and `anthropic-beta` are forwarded on purpose (the forwarding step
passes them in `UpstreamRequest.headers`): betas switch on the request fields Claude Code sends, and
Anthropic refuses those fields without them. Nothing else of the client's headers goes upstream.
"""

from __future__ import annotations

from onegate.providers.http import HttpChannel
from onegate.providers.protocol import UpstreamRequest

DEFAULT_VERSION = "2023-06-01"
FORWARDED = ("anthropic-version", "anthropic-beta")


class AnthropicProvider(HttpChannel):
    dialect = "anthropic_messages"
    native_dialects = frozenset({"anthropic_messages", "anthropic_count_tokens"})

    def headers(self, request: UpstreamRequest) -> dict[str, str]:
        headers = super().headers(request)
        if secret := self.secret():
            headers["x-api-key"] = secret
        headers["anthropic-version"] = request.headers.get("anthropic-version") or DEFAULT_VERSION
        if beta := request.headers.get("anthropic-beta"):
            headers["anthropic-beta"] = beta
        return headers


def forwarded_headers(client_headers: dict[str, str]) -> dict[str, str]:
    """The client headers an Anthropic upstream must see (names lower-case, as the server gives them)."""
    return {name: client_headers[name] for name in FORWARDED if client_headers.get(name)}
