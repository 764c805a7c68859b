"""Counters behind one protocol (protocol.py): in this process's memory, or in Redis for many instances."""

from __future__ import annotations

from onegate.counters.protocol import Counters
from onegate.settings import Settings


def open_counters(settings: Settings) -> Counters:
    alerts = settings.accounting.alerts
    kept = alerts.window_minutes + alerts.baseline_minutes + 5
    if settings.redis_url:
        from onegate.counters.redis import RedisCounters

        return RedisCounters(
            settings.redis_url, settings.redis_prefix, spend_minutes_kept=kept, timeout=settings.redis_timeout
        )
    from onegate.counters.memory import MemoryCounters

    return MemoryCounters(spend_minutes_kept=kept)
