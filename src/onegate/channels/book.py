"""`ChannelBook`: this process's view of every channel — what routing asks, where attempts report.

Routing reads only local memory (no await on the hot path): with Redis the view is refreshed from the
shared store every `routing.sync_seconds`, and every local change is written through at once, so a
breaker opened by one instance closes the channel for all of them within a sync interval.
Concurrency caps are per process (a slot is an in-flight request on this instance).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from onegate.channels import breaker
from onegate.channels.memory import MemoryChannelStore
from onegate.channels.state import ChannelStateStore, Marks, State, Window
from onegate.settings import RoutingConfig, Settings

if TYPE_CHECKING:
    from onegate.counters.protocol import Counters

log = logging.getLogger("onegate.channels")
_HEALTHY = Marks()
_ROUTABLE = frozenset({"healthy", "half_open"})


@dataclass(frozen=True, slots=True)
class ChannelReport:
    """One line of `onegate channels list`."""

    name: str
    state: State
    window: Window
    marks: Marks
    in_flight: int

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "state": self.state,
            "successes": self.window.successes,
            "failures": self.window.failures,
            "latency_ms": self.window.latency_ms,
            "in_flight": self.in_flight,
            **self.marks.as_dict(),
        }


class ChannelBook:
    def __init__(self, store: ChannelStateStore, routing: RoutingConfig, caps: dict[str, int | None]) -> None:
        self.store = store
        self.routing = routing
        self._caps = caps
        self.known = frozenset(caps)  # the configured channels
        self._marks: dict[str, Marks] = {}
        self._in_flight: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: Settings, counters: Counters | None = None) -> ChannelBook:
        """`counters`: the request path's, whose Redis connection the channel state then shares."""
        window = settings.routing.breaker.window_seconds
        store: ChannelStateStore
        if settings.redis_url:
            from onegate.channels.redis import RedisChannelStore  # only when configured: keeps redis optional
            from onegate.counters.redis import RedisCounters

            prefix = settings.routing.redis_prefix
            lean = counters.client if isinstance(counters, RedisCounters) else None
            store = RedisChannelStore(settings.redis_url, prefix, window, timeout=settings.redis_timeout, lean=lean)
        else:
            store = MemoryChannelStore(window)
        return cls(store, settings.routing, {c.name: c.max_concurrency for c in settings.channels})

    # reads: local, synchronous -------------------------------------------------------------------
    def marks(self, channel: str) -> Marks:
        return self._marks.get(channel) or _HEALTHY

    def state(self, channel: str, now: float) -> State:
        marks = self._marks.get(channel)
        return marks.state(now) if marks is not None else "healthy"

    def at_cap(self, channel: str) -> bool:
        cap = self._caps.get(channel)
        return cap is not None and self._in_flight.get(channel, 0) >= cap

    def may_try(self, channel: str, now: float) -> bool:
        """Worth a place in the route: healthy, or half-open (a probe may be granted), with a free slot."""
        marks = self._marks.get(channel)
        if marks is not None and marks.state(now) not in _ROUTABLE:
            return False
        return not self.at_cap(channel)

    def retry_after(self, channels: Iterable[str], now: float) -> int:
        """Whole seconds until the first of `channels` takes traffic again (1 when it is a matter of slots)."""
        waits = [m.available_at(now) for m in map(self.marks, channels)]
        soonest = min((w for w in waits if w is not None), default=now + self.routing.recovery_probe_seconds)
        return max(1, math.ceil(soonest - now))

    # an attempt's life -----------------------------------------------------------------------------
    async def acquire(self, channel: str, lease: float) -> bool:
        """Take a slot for one attempt; a half-open channel grants one probe at a time across instances."""
        now = time.time()
        if not self.may_try(channel, now):
            return False
        if self.state(channel, now) == "half_open" and not await self.store.claim(f"probe:{channel}", lease):
            return False
        self._in_flight[channel] = self._in_flight.get(channel, 0) + 1
        return True

    def release(self, channel: str) -> None:
        self._in_flight[channel] -= 1

    async def succeeded(self, channel: str, latency_ms: float) -> None:
        now = time.time()
        await self.store.add_success(channel, latency_ms, now)
        marks = self._marks.get(channel)
        changed = breaker.after_success(marks, now) if marks is not None else None
        if changed is not None:
            await self.store.clear_window(channel)  # the failures that opened it are history now
            await self._save(channel, changed, "breaker closed: an attempt succeeded")

    async def failed(self, channel: str, error: str) -> None:
        now = time.time()
        window = await self.store.add_failure(channel, now)
        changed = breaker.after_failure(self.marks(channel), window, now, self.routing.breaker, error)
        if changed is not None:
            if changed.open_until or changed.disabled:
                await self.store.clear_window(channel)
            await self._save(channel, changed, f"{window.failures} failures of {window.total} attempts recently")

    async def rate_limited(self, channel: str, retry_after: float | None, error: str) -> None:
        seconds = self.routing.cooldown_seconds if retry_after is None else retry_after
        seconds = min(seconds, self.routing.max_cooldown_seconds)
        await self._save(channel, breaker.cooled(self.marks(channel), seconds, time.time(), error), "")

    # operators and probes ---------------------------------------------------------------------------
    async def enable(self, channel: str, why: str) -> None:
        await self.store.clear_window(channel)
        await self._save(channel, breaker.enabled(time.time()), why)

    async def disable(self, channel: str, reason: str) -> None:
        await self._save(channel, breaker.disabled(reason, time.time(), self.marks(channel).last_error), reason)

    async def refresh(self) -> None:
        """Adopt the shared store's marks (other instances' breakers, CLI commands)."""
        if self.store.shared:
            self._marks = await self.store.load_marks()

    def restore(self, marks: dict[str, Marks]) -> None:
        """Marks saved by an earlier run of this process (single instance, no Redis)."""
        self._marks.update({name: m for name, m in marks.items() if name in self.known})

    async def reports(self, channels: Iterable[str]) -> list[ChannelReport]:
        names = list(channels)
        now = time.time()
        windows = await self.store.windows(names, now)
        return [
            ChannelReport(n, self.state(n, now), windows[n], self.marks(n), self._in_flight.get(n, 0)) for n in names
        ]

    async def _save(self, channel: str, marks: Marks, why: str) -> None:
        before = self.state(channel, marks.changed_at)
        self._marks[channel] = marks
        await self.store.save_marks(channel, marks)
        _log_transition(channel, before, marks, why)


def _log_transition(channel: str, before: State, marks: Marks, why: str) -> None:
    after = marks.state(marks.changed_at)
    if after == before:
        return
    if after == "open":
        seconds = marks.open_until - marks.changed_at
        log.warning("channel %s: breaker open for %.0f s (%s; last error: %s)", channel, seconds, why, marks.last_error)
    elif after == "disabled" and marks.disabled and marks.disabled.startswith("automatically"):
        log.error(
            "ALERT channel %s disabled %s (last error: %s). It gets no traffic until a background probe "
            "succeeds or someone runs `onegate channels enable %s`.",
            channel,
            marks.disabled,
            marks.last_error,
            channel,
        )
    elif after == "cooling":
        log.info("channel %s: cooling for %.0f s (%s)", channel, marks.cool_until - marks.changed_at, marks.last_error)
    else:
        log.warning("channel %s: %s → %s (%s)", channel, before, after, why or marks.disabled)
