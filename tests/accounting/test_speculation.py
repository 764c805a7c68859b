"""When a request may go upstream before its admission answers, judged on real Redis counters: only on
fresh headroom, wide enough for the margin plus every request already sent that way, and never when off."""

from __future__ import annotations

import time

from onegate.accounting.speculation import Speculation
from onegate.counters.memory import MemoryCounters
from onegate.counters.protocol import Admit, Limits
from onegate.counters.redis import RedisCounters
from onegate.settings import AccountingConfig
from tests.conftest import require_service
from tests.services import REDIS_HOST, REDIS_PORT, REDIS_URL, drop_redis_prefix, redis_prefix


def _admit(rid: str, tokens: int = 10, amount: int = 0) -> Admit:
    now = time.time()
    return Admit(rid, now, now + 30, amount, tokens, 1, Limits(rpm=55), 7, Limits())


async def _counters_after_one_admission() -> tuple[RedisCounters, str]:
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    prefix = redis_prefix()
    counters = RedisCounters(REDIS_URL, prefix)
    await counters.set_balance(7, 10_000, 1)
    assert await counters.admit(_admit("first", amount=100)) is None  # leaves 54 requests, 9,900 micro-units
    return counters, prefix


async def test_the_margin_counts_the_requests_already_sent_before_their_admission():
    counters, prefix = await _counters_after_one_admission()
    try:
        speculation = Speculation(counters, AccountingConfig(speculation_margin=50))
        request = _admit("next", amount=100)
        assert [speculation.begin(request) for _ in range(6)] == [True] * 5 + [False]  # 50..54 of 54
        speculation.end(request)
        assert speculation.begin(request)
        # a pricier request: 9,900 micro-units is not 50 of 1,000
        assert not speculation.begin(_admit("dear", amount=1_000))
    finally:
        await counters.close()
        drop_redis_prefix(prefix)


async def test_stale_headroom_or_speculation_off_waits_for_admission():
    counters, prefix = await _counters_after_one_admission()
    try:
        assert not Speculation(counters, AccountingConfig(speculative_admission=False)).begin(_admit("a"))
        stale = Speculation(counters, AccountingConfig(speculation_fresh_seconds=0.01))
        time.sleep(0.02)
        assert not stale.begin(_admit("b"))
        assert Speculation(counters, AccountingConfig()).begin(_admit("c"))
        assert not Speculation(MemoryCounters(), AccountingConfig()).begin(_admit("d"))  # nothing to win
    finally:
        await counters.close()
        drop_redis_prefix(prefix)
