"""Speculative admission: may a request go upstream while its admission (a Redis round trip) is on the way?

Admission always runs, unchanged; only the waiting moves. A request may be sent before its admission
answers when the last admission of its key (and team) left wide headroom a moment ago: at least `margin`
more requests like this one, plus one for each request already doing the same, by every limit (rpm,
tpm, concurrency, the key's budget, the team's balance). Its answer (not a byte, not a header) still
waits for admission; a refusal cancels the upstream call and the client gets the refusal, uncharged.
The price of being wrong is that cancelled call, which a vendor may bill for its prompt: it happens only
when others used up the headroom within `fresh` seconds (docs/OPERATIONS.md, money).
"""

from __future__ import annotations

import time

from onegate.counters.protocol import Admit, Counters
from onegate.settings import AccountingConfig


class Speculation:
    def __init__(self, counters: Counters, config: AccountingConfig) -> None:
        self.counters = counters
        self.enabled = config.speculative_admission
        self.fresh = config.speculation_fresh_seconds
        self.margin = config.speculation_margin
        self._running: dict[tuple[int, int | None], int] = {}  # (key, team) -> sent before admission answered

    def begin(self, request: Admit) -> bool:
        """True when `request` may go upstream now; it then counts as running until `end`."""
        if not self.enabled:
            return False
        pair = (request.key_id, request.team_id)
        room = self.counters.headroom(*pair)
        if room is None or time.monotonic() - room.seen > self.fresh:
            return False
        running = self._running.get(pair, 0)
        need = self.margin + running
        if not (_fits(room.requests, need, 1) and _fits(room.tokens, need, request.tokens)):
            return False
        if not _fits(room.money, need, request.amount):
            return False
        self._running[pair] = running + 1
        return True

    def end(self, request: Admit) -> None:
        pair = (request.key_id, request.team_id)
        running = self._running.pop(pair, 1) - 1
        if running > 0:
            self._running[pair] = running


def _fits(room: int, requests: int, each: int) -> bool:
    """`requests` more of `each` fit in `room` (-1: no limit)."""
    return room < 0 or room >= requests * each
