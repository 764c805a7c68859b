"""What the management API needs from the running server, passed explicitly (never the whole app)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from onegate.channels.book import ChannelBook
from onegate.keys.failures import FailurePenalty
from onegate.settings import ChannelConfig, Settings


@dataclass(frozen=True, slots=True)
class AdminDeps:
    engine: Engine
    settings: Settings
    refresh: Callable[[str], Awaitable[None]]  # reload a topic (keys | teams | prices) into this instance's caches
    announce: Callable[[str], Awaitable[None]]  # and tell the other instances (Redis pub/sub), when there are any
    channels: ChannelBook
    channel_configs: Mapping[str, ChannelConfig]
    probe_targets: Mapping[str, Any]  # channel name → providers' Target, for a live test
    model_names: Callable[[], list[str]]  # the public models this server serves
    failures: FailurePenalty  # shared with key authentication: one slow-down per address
    served: frozenset[str]  # endpoint suffixes, for setup guides
