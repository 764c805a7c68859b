"""One warning when a service goes away and one line when it is back, however many requests it fails
in between: an outage must not bury the log under one line per refused request."""

from __future__ import annotations

import logging
import threading


class Outage:
    """The up/down state of one service (`name`), told of every failure and success; thread-safe."""

    def __init__(self, name: str, log: logging.Logger) -> None:
        self.name = name
        self.down = False
        self._log = log
        self._lock = threading.Lock()

    def failed(self, detail: object) -> None:
        if self.down:  # the common case while down: no lock, no line
            return
        with self._lock:
            if self.down:
                return
            self.down = True
        self._log.warning("%s is unavailable (%s)", self.name, detail)

    def ok(self) -> None:
        if not self.down:  # the common case: nothing to say
            return
        with self._lock:
            if not self.down:
                return
            self.down = False
        self._log.warning("%s is back", self.name)


_SHARED: dict[str, Outage] = {}


def outage_of(name: str, log: logging.Logger) -> Outage:
    """The one tracker of `name` in this process, so every client of a service shares its lines."""
    tracker = _SHARED.get(name)
    if tracker is None:
        tracker = _SHARED.setdefault(name, Outage(name, log))
    return tracker


def redis_name(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"Redis at {parts.hostname or '127.0.0.1'}:{parts.port or 6379}"
