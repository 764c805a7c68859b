"""Channel state in this process's memory: the default for a single instance."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable

from onegate.channels.state import Marks, Window

BUCKETS = 12  # a window is kept as this many time slices; older slices fall off whole


class SlidingWindow:
    """Outcome counts over the last `seconds`, in fixed time slices (cheap, and exact enough for a breaker).

    Running totals are kept, so adding an outcome and reading the window are O(1) apart from expiry.
    """

    __slots__ = ("_width", "_slices", "_ok", "_failed", "_latency")

    def __init__(self, seconds: float) -> None:
        self._width = seconds / BUCKETS
        self._slices: deque[list[float]] = deque()  # [slice number, successes, failures, latency sum]
        self._ok = self._failed = 0
        self._latency = 0.0

    def add(self, ok: bool, latency_ms: float, now: float) -> None:
        self._expire(now)
        number = now // self._width
        if not self._slices or self._slices[-1][0] != number:
            self._slices.append([number, 0, 0, 0.0])
        current = self._slices[-1]
        if ok:
            current[1] += 1
            current[3] += latency_ms
            self._ok += 1
            self._latency += latency_ms
        else:
            current[2] += 1
            self._failed += 1

    def total(self, now: float) -> Window:
        self._expire(now)
        return Window(self._ok, self._failed, self._latency)

    def _expire(self, now: float) -> None:
        oldest = now // self._width - BUCKETS + 1
        slices = self._slices
        while slices and slices[0][0] < oldest:
            _, ok, failed, latency = slices.popleft()
            self._ok -= int(ok)
            self._failed -= int(failed)
            self._latency -= latency
        if not slices:
            self._latency = 0.0  # no float drift survives an empty window


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

    async def add_success(self, channel: str, latency_ms: float, now: float) -> None:
        self._window(channel).add(True, latency_ms, now)

    async def add_failure(self, channel: str, now: float) -> Window:
        window = self._window(channel)
        window.add(False, 0.0, now)
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
