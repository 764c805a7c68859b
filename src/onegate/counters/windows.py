"""Sliding-window arithmetic shared by the backends (counters/lua/admit.lua repeats it in Lua).

A per-minute limit counts the current minute plus the previous minute weighted by how much of it still
lies inside the last 60 seconds: smooth like a sliding log, two numbers of memory like a fixed window.
"""

from __future__ import annotations

import math

MINUTE = 60.0


def minute_of(now: float) -> int:
    return int(now // MINUTE)


def position(now: float) -> float:
    """How far into its minute `now` is, 0 ≤ p < 1."""
    return (now % MINUTE) / MINUTE


def over_limit(prev: float, cur: float, need: float, limit: int, frac: float) -> bool:
    return prev * (1 - frac) + cur + need > limit


def retry_after(prev: float, cur: float, need: float, limit: int, frac: float) -> float:
    """Seconds until `need` more fits under `limit` if nothing else is counted meanwhile (at least 1)."""
    if need > limit:
        return MINUTE
    room = limit - need - cur
    if room >= 0 and prev > 0:
        # still this minute: the previous minute's weight has to shrink enough
        wait = (1 - room / prev - frac) * MINUTE
    else:
        # next minute: this minute's count becomes the shrinking one
        wait = (1 - frac) * MINUTE + max(0.0, 1 - (limit - need) / cur) * MINUTE if cur > 0 else (1 - frac) * MINUTE
    return float(max(1, math.ceil(wait)))
