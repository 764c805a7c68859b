"""Slow down repeated key failures from one address, without ever slowing a valid key.

A misconfigured client retries a 401 in a loop (Claude Code retries it ten times by default), and a key
guesser is a loop too. After a few free failures, each further failure from the same address waits a
little longer before it is answered (doubling, capped), so repeated failures are never answered faster
than the ones before. The state is a bounded in-memory dict; an address is forgotten after a quiet
minute. Valid keys never consult it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(slots=True)
class _Streak:
    failures: int
    last: float


class FailurePenalty:
    def __init__(
        self,
        free: int = 3,
        base_delay: float = 0.25,
        max_delay: float = 2.0,
        forget_after: float = 60.0,
        max_addresses: int = 10_000,
    ) -> None:
        self.free = free
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.max_addresses = max_addresses
        self._streaks: dict[str, _Streak] = {}

    def record_failure(self, address: str, now: float | None = None) -> float:
        """Count one failure from `address`; returns how long to wait before answering it."""
        now = time.monotonic() if now is None else now
        streak = self._streaks.pop(address, None)  # re-inserted below: the dict stays ordered by last failure
        if streak is None or now - streak.last > self.forget_after:
            streak = _Streak(0, now)
        streak.failures += 1
        streak.last = now
        self._streaks[address] = streak
        self._forget_oldest(now)
        over = streak.failures - self.free
        return 0.0 if over <= 0 else min(self.max_delay, self.base_delay * 2 ** (over - 1))

    def _forget_oldest(self, now: float) -> None:
        """Drop quiet addresses, and the least recent ones beyond the cap: O(1) per failure on average."""
        while self._streaks:
            oldest = next(iter(self._streaks))
            if len(self._streaks) <= self.max_addresses and now - self._streaks[oldest].last <= self.forget_after:
                return
            del self._streaks[oldest]
