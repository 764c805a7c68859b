"""What onegate remembers about a channel, and the small protocol that stores it.

Two kinds of state: a sliding window of recent outcomes (counts, for the breaker and `channels list`)
and the channel's marks (open until, cooling until, disabled). The in-memory backend serves one process;
the Redis backend shares both across every instance, so one instance's breaker protects all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Literal, Protocol

State = Literal["healthy", "cooling", "open", "half_open", "disabled"]


@dataclass(frozen=True, slots=True)
class Window:
    """Outcomes of the channel's attempts in the recent window."""

    successes: int = 0
    failures: int = 0
    latency_ms: float = 0.0  # summed over successes: time until the upstream's status and first event

    @property
    def total(self) -> int:
        return self.successes + self.failures

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.total if self.total else 0.0

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_ms / self.successes if self.successes else None

    def __add__(self, other: Window) -> Window:
        return Window(
            self.successes + other.successes, self.failures + other.failures, self.latency_ms + other.latency_ms
        )


@dataclass(frozen=True, slots=True)
class Marks:
    """A channel's standing. All times are epoch seconds, so every instance reads them alike."""

    open_until: float = 0.0  # > 0: the breaker is open; once passed, half-open (one probe at a time)
    opens: int = 0  # times opened in a row without a success: the open time doubles, then disables
    cool_until: float = 0.0  # a 429 asked us to wait
    disabled: str | None = None  # why, when disabled (by hand or after sustained failure)
    last_error: str | None = None
    changed_at: float = 0.0

    @property
    def disabled_by_hand(self) -> bool:
        return self.disabled is not None and self.disabled.startswith("by hand")

    def state(self, now: float) -> State:
        if self.disabled is not None:
            return "disabled"
        if self.open_until > now:
            return "open"
        if self.open_until > 0:
            return "half_open"
        if self.cool_until > now:
            return "cooling"
        return "healthy"

    def available_at(self, now: float) -> float | None:
        """When the channel takes traffic again (now, or later); None when only a probe or a person can tell."""
        if self.disabled is not None:
            return None
        return max(now, self.open_until, self.cool_until)

    def as_dict(self) -> dict[str, object]:
        return {
            "open_until": self.open_until,
            "opens": self.opens,
            "cool_until": self.cool_until,
            "disabled": self.disabled,
            "last_error": self.last_error,
            "changed_at": self.changed_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Marks:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})  # type: ignore[arg-type]


class ChannelStateStore(Protocol):
    """Where channel state lives. Every method is safe to call from many instances at once."""

    shared: bool  # other processes see the same state (then the book refreshes its view periodically)

    async def add_success(self, channel: str, latency_ms: float, now: float) -> None: ...

    async def add_failure(self, channel: str, now: float) -> Window:
        """Count a failure; returns the channel's window including it (the breaker decides on it)."""
        ...

    async def windows(self, channels: Iterable[str], now: float) -> dict[str, Window]: ...

    async def clear_window(self, channel: str) -> None: ...

    async def load_marks(self) -> dict[str, Marks]:
        """Every channel's marks (a channel never marked is absent: healthy)."""
        ...

    async def save_marks(self, channel: str, marks: Marks) -> None: ...

    async def claim(self, token: str, seconds: float) -> bool:
        """True for the one caller (across instances) that takes `token` until `seconds` pass."""
        ...

    async def close(self) -> None: ...
