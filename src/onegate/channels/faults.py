"""Which upstream answers are the channel's fault: the one table forwarding and probes both follow.

A channel fault (failover, and a failure for the breaker): 401/403 — the channel's own credential was
refused, the caller's key is fine; 408 and 5xx — the upstream, or a proxy in front of it (52x is
Cloudflare), failed before answering. A 429 is apart: the channel cools for its Retry-After. Any other
4xx is the caller's own request being refused: no other channel would do better, so it is passed on.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

_CHANNEL_FAULTS = frozenset({401, 403, 408, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529})


def is_channel_fault(status: int) -> bool:
    return status in _CHANNEL_FAULTS


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds (or OpenAI's retry-after-ms, or an HTTP date); None when absent or unreadable."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
