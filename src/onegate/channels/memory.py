"""Channel state in this process's memory: the default for a single instance."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable

from onegate.channels.state import Marks, Window

BUCKETS = 12  # a window is kept as this many time slices; older slices fall off whole


class SlidingWindow:
    """Outcome counts over the last `seconds`, in fixed time slices (cheap, and exact enough for a breaker)."""

    __slots__ = ("_width", "_slices")

    def __init__(self, seconds: float) -> None:
        self._width = seconds / BUCKETS
        self._slices: deque[list[float]] = deque()  # [slice number, successes, failures, latency sum]

    def add(self, ok: bool, latency_ms: float, now: float) -> None:
        number = now // self._width
        if not self._slices or self._slices[-1][0] != number:
            self._slices.append([number, 0, 0, 0.0])
        current = self._slices[-1]
        if ok:
            current[1] += 1
            current[3] += latency_ms
        else:
            current[2] += 1

    def total(self, now: float) -> Window:
        oldest = now // self._width - BUCKETS + 1
        while self._slices and self._slices[0][0] < oldest:
            self._slices.popleft()
        return Window(
            int(sum(s[1] for s in self._slices)), int(sum(s[2] for s in self._slices)), sum(s[3] for s in self._slices)
        )


class MemoryChannelStore:
    shared = False

    def __init__(self, window_seconds: float) -> None:
        self._window_seconds = window_seconds
        self._windows: dict[str, SlidingWindow] = {}
        self._marks: dict[str, Marks] = {}
        self._claims: dict[str, float] = {}

    def _window(self, channel: str) -> SlidingWindow:
        window = self._windows.get(channel)
        if window is None:
            window = self._windows[channel] = SlidingWindow(self._window_seconds)
        return window

    async def add_outcome(self, channel: str, ok: bool, latency_ms: float, now: float) -> Window:
        window = self._window(channel)
        window.add(ok, latency_ms, now)
        return window.total(now)

    async def windows(self, channels: Iterable[str], now: float) -> dict[str, Window]:
        return {c: self._windows[c].total(now) if c in self._windows else Window() for c in channels}

    async def clear_window(self, channel: str) -> None:
        self._windows.pop(channel, None)

    async def load_marks(self) -> dict[str, Marks]:
        return dict(self._marks)

    async def save_marks(self, channel: str, marks: Marks) -> None:
        self._marks[channel] = marks

    async def claim(self, token: str, seconds: float) -> bool:
        now = time.monotonic()
        if self._claims.get(token, 0.0) > now:
            return False
        self._claims[token] = now + seconds
        return True

    async def close(self) -> None:
        return None
