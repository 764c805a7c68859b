"""The model table: public model name → the channels that serve it, with the upstream model name and price.

Built once from the settings and held in memory; the hot path only does dictionary lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from onegate.accounting.pricing import FREE, Price
from onegate.providers.protocol import Provider
from onegate.providers.selftest import SelftestProvider
from onegate.settings import Settings


class SessionPool(Protocol):
    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Target:
    provider: Provider
    upstream_model: str


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str  # public name
    targets: tuple[Target, ...]
    price: Price
    owned_by: str


class ModelRegistry:
    def __init__(self, entries: dict[str, ModelEntry], sessions: SessionPool | None = None) -> None:
        self._entries = entries
        self._config_prices = {name: entry.price for name, entry in entries.items()}
        self.names = tuple(sorted(entries))
        self.sessions = sessions  # the HTTP pool to close on shutdown, when any channel uses one

    def get(self, name: str) -> ModelEntry | None:
        return self._entries.get(name)

    def reprice(self, overrides: Mapping[str, Price]) -> None:
        """Prices set at run time win over the config file's; a model without one goes back to it."""
        self._entries = {
            name: replace(entry, price=overrides.get(name, self._config_prices[name]))
            for name, entry in self._entries.items()
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRegistry:
        targets: dict[str, list[Target]] = {}
        owners: dict[str, str] = {}
        sessions = None
        if settings.channels:
            # imported only when there are channels: keeps a bare start fast
            from onegate.providers.openai_compatible import OpenAICompatibleProvider, SessionFactory

            sessions = SessionFactory()
            for channel in settings.channels:
                provider = OpenAICompatibleProvider(channel, sessions)
                public = {m: m for m in channel.models} | dict(channel.aliases)
                for name, upstream in public.items():
                    targets.setdefault(name, []).append(Target(provider, upstream))
                    owners.setdefault(name, channel.name)
        selftest = settings.selftest_model
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
        return cls(entries, sessions)
