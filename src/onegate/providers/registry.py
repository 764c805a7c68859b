"""The model table: public model name → the channels that serve it, with the upstream model name and price.

Built once from the settings and held in memory; the hot path only does dictionary lookups.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from onegate.accounting.pricing import FREE, Price
from onegate.providers.protocol import Provider
from onegate.providers.selftest import SelftestProvider
from onegate.settings import Settings, selftest_models


class SessionPool(Protocol):
    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Target:
    provider: Provider
    upstream_model: str
    priority: int = 0  # tier: lower is tried first
    weight: float = 1.0  # share of traffic inside the tier

    @property
    def channel(self) -> str:
        return self.provider.name


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str  # public name
    targets: tuple[Target, ...]
    price: Price
    owned_by: str


class ModelRegistry:
    def __init__(
        self,
        entries: dict[str, ModelEntry],
        sessions: SessionPool | None = None,
        model_map: dict[str, str] | None = None,
        channels: dict[str, Target] | None = None,
    ) -> None:
        self._entries = entries
        self._config_prices = {name: entry.price for name, entry in entries.items()}
        self.names = tuple(sorted(entries))
        self.media_names = frozenset(selftest_models_in(entries))
        self.chat_names = tuple(n for n in self.names if n not in self.media_names)  # what setup guides offer
        self.sessions = sessions  # the HTTP pool to close on shutdown, when any channel uses one
        self.channels = channels or {}  # configured channel → its first model: what a health probe asks for
        # glob → public model, in config order; case-insensitive like the names clients type
        self._patterns = [
            (re.compile(fnmatch.translate(pattern), re.IGNORECASE), target)
            for pattern, target in (model_map or {}).items()
        ]

    def get(self, name: str) -> ModelEntry | None:
        return self._entries.get(name)

    def reprice(self, overrides: Mapping[str, Price]) -> None:
        """Prices set at run time win over the config file's; a model without one goes back to it."""
        self._entries = {
            name: replace(entry, price=overrides.get(name, self._config_prices[name]))
            for name, entry in self._entries.items()
        }

    def mapped(self, name: str) -> ModelEntry | None:
        """The entry `model_map` sends `name` to (first matching pattern), or None."""
        for pattern, target in self._patterns:
            if pattern.match(name):
                return self._entries.get(target)
        return None

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRegistry:
        targets: dict[str, list[Target]] = {}
        owners: dict[str, str] = {}
        sessions = None
        channels: dict[str, Target] = {}
        if settings.channels:
            # imported only when there are channels: keeps a bare start fast
            from onegate.providers.anthropic import AnthropicProvider
            from onegate.providers.gemini import GeminiProvider
            from onegate.providers.http import SessionFactory
            from onegate.providers.openai_compatible import OpenAICompatibleProvider

            kinds = {"openai": OpenAICompatibleProvider, "anthropic": AnthropicProvider, "gemini": GeminiProvider}
            sessions = SessionFactory()
            for channel in settings.channels:
                provider = kinds[channel.type](channel, sessions, settings.server.hide_upstream_5xx_text)
                for route in channel.routes():
                    target = Target(provider, route.upstream, route.priority, route.weight)
                    targets.setdefault(route.name, []).append(target)
                    owners.setdefault(route.name, channel.name)
                    channels.setdefault(channel.name, target)
        for selftest in selftest_models(settings.selftest_model):
            targets[selftest] = [Target(SelftestProvider(selftest), selftest)]
            owners[selftest] = "onegate"
        entries = {
            name: ModelEntry(
                name=name,
                targets=tuple(found),
                price=Price.from_config(settings.prices[name]) if name in settings.prices else FREE,
                owned_by=owners[name],
            )
            for name, found in targets.items()
        }
        return cls(entries, sessions, settings.model_map, channels)


def selftest_models_in(entries: Mapping[str, ModelEntry]) -> list[str]:
    """The built-in image and video self-test models: listed by /models, never offered as chat models."""
    return [
        name
        for name, entry in entries.items()
        if any(isinstance(t.provider, SelftestProvider) and name.endswith(("-image", "-video")) for t in entry.targets)
    ]
