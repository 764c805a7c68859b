"""Anthropic's own API (`type: anthropic` channels): `x-api-key`, `anthropic-version`, `anthropic-beta`.

The client's `anthropic-version` and `anthropic-beta` are forwarded on purpose (the endpoint picks them
with `forwarded_headers`, the forwarding step passes them only to an upstream of the client's own
dialect): betas switch on the request fields Claude Code sends, and Anthropic refuses those fields
without them. Nothing else of the client's headers goes upstream. Without a client version (a Chat
client on a Claude model) the request says `2023-06-01`.
"""

from __future__ import annotations

from onegate.dialects.anthropic_messages.headers import DEFAULT_VERSION
from onegate.providers.http import HttpChannel
from onegate.surfaces import native_surfaces


class AnthropicProvider(HttpChannel):
    dialect = "anthropic_messages"
    native_dialects = native_surfaces("anthropic")

    def auth_headers(self, secret: str) -> dict[str, str]:
        return {"x-api-key": secret}

    def _base_headers(self, stream: bool, secret: str) -> dict[str, str]:
        return {**super()._base_headers(stream, secret), "anthropic-version": DEFAULT_VERSION}
