"""`Services`: what a handler may use, handed to every handler in place of the whole `Gateway`.

The `Gateway` (app.py) builds it once at start-up; it owns start-up, shutdown and ASGI dispatch, and
handlers see only this narrow, frozen record (one attribute lookup per request).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from onegate.accounting.reservations import Reservations
from onegate.asgi import Receive, Responder
from onegate.channels.book import ChannelBook
from onegate.context import RequestContext
from onegate.keys.cache import KeyCache
from onegate.media.service import Media
from onegate.observe.observer import Observer
from onegate.pipeline.admit import Admission
from onegate.providers.registry import ModelRegistry
from onegate.settings import Settings
from onegate.store.writer import LogWriter

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    engine: Engine
    keys: KeyCache
    registry: ModelRegistry
    channels: ChannelBook
    admission: Admission
    writer: LogWriter
    served: frozenset[str]  # the API endpoint suffixes served here, for guides that warn about missing ones
    media: Media  # video tasks: adapters, billing of their ends, callbacks
    reservations: Reservations  # a video task takes over its submit's reservation
    refresh: Callable[[str | None], Awaitable[None]]  # reload keys, teams, prices after a management change
    observer: Observer  # readiness always; metrics and traces when switched on


Handler = Callable[[Services, RequestContext, Responder, Receive], Awaitable[None]]
