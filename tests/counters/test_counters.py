"""The counters protocol, one suite for every backend: in-memory, Redis, and a Redis Cluster of three
nodes (the Redis ones skipped without a server, failed under ONEGATE_REQUIRE_SERVICES=1). Time is passed
in, so windows and leases are deterministic."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from onegate.counters.memory import MemoryCounters
from onegate.counters.protocol import Admit, Capped, Counters, Lease, Limits, Settle
from tests.conftest import require_service
from tests.services import (
    REDIS_HOST,
    REDIS_PORT,
    REDIS_URL,
    drop_redis_prefix,
    private_redis,
    redis_prefix,
)

T0 = 1_800_000_000.0  # a minute boundary (divisible by 60)
TTL = 30.0
NONE = Limits()


async def _open(kind: str) -> tuple[Counters, str | None]:
    if kind == "memory":
        return MemoryCounters(), None
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    from onegate.counters.redis import RedisCounters

    prefix = redis_prefix()
    return RedisCounters(REDIS_URL, prefix), prefix


@pytest.fixture(params=["memory", "redis", "cluster"])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[Counters]:
    """The suite on each backend; `cluster`: a private three-node Redis Cluster, the client told one node."""
    if request.param == "cluster":
        from onegate.counters.redis import RedisCounters

        cluster = request.getfixturevalue("redis_cluster")  # told a node that does not hold team 7's keys
        backend: Counters = RedisCounters(cluster.url_away_from("{t7}"), redis_prefix())
        yield backend
        await backend.close()
        return
    backend, prefix = await _open(request.param)
    yield backend
    await backend.close()
    if prefix:
        drop_redis_prefix(prefix)


def admit(rid: str, now: float = T0, *, key: int = 1, team: int | None = 7, amount: int = 0, **kw) -> Admit:
    return Admit(
        rid=rid,
        now=now,
        expires=now + TTL,
        amount=amount,
        tokens=kw.pop("tokens", 0),
        key_id=key,
        key_limits=kw.pop("key_limits", NONE),
        team_id=team,
        team_limits=kw.pop("team_limits", NONE),
        **kw,
    )


def settle(rid: str, now: float = T0, *, key: int = 1, team: int | None = 7, cost: int = 0, **kw) -> Settle:
    hold = now + TTL if cost and team is not None else 0.0
    return Settle(
        rid=rid, now=now, key_id=key, team_id=team, cost=cost, token_delta=kw.pop("token_delta", 0),
        admitted_at=kw.pop("admitted_at", now), hold_until=hold, **kw,
    )  # fmt: skip


async def test_requests_per_minute_refused_with_retry_after_then_allowed_as_the_window_slides(counters):
    limits = Limits(rpm=2)
    assert await counters.admit(admit("a", T0 + 0.5, key_limits=limits)) is None
    assert await counters.admit(admit("b", T0 + 1.5, key_limits=limits)) is None
    refused = await counters.admit(admit("c", T0 + 2, key_limits=limits))
    assert refused is not None and refused.reason == "key_rpm"
    # one fits again once "a" (second T0) is a whole minute old: at T0 + 61
    assert refused.retry_after == 59
    refused = await counters.admit(admit("d", T0 + 60.9, key_limits=limits))
    assert refused is not None and refused.reason == "key_rpm" and refused.retry_after == 1
    assert await counters.admit(admit("e", T0 + 61, key_limits=limits)) is None
    assert (await counters.admit(admit("f", T0 + 61.5, key_limits=limits))).reason == "key_rpm"


async def _steady_stream(counters: Counters, limits: Limits, per_second: float, seconds: int, tokens: int = 0):
    """Admissions at a steady rate over `seconds` of simulated time, starting 45 s into a minute (where a
    two-minute weighted approximation let 52 through on an rpm-30 key); the times admitted."""
    admitted = []
    for i in range(int(seconds * per_second)):
        now = T0 + 45.3 + i / per_second
        if await counters.admit(admit(f"r{i}", now, key_limits=limits, tokens=tokens)) is None:
            admitted.append(now)
    return admitted


def _most_in_any_minute(times: list[float]) -> int:
    """The most admissions inside any rolling 60 s span [t, t + 60)."""
    return max(sum(1 for u in times if t <= u < t + 60) for t in times)


async def test_no_rolling_minute_admits_more_than_the_requests_per_minute_limit(counters):
    """A steady 2 requests a second on an rpm-30 key over three minutes: 30 in any rolling minute, not 52."""
    admitted = await _steady_stream(counters, Limits(rpm=30), per_second=2, seconds=180)
    assert _most_in_any_minute(admitted) == 30
    assert len(admitted) >= 3 * 30 - 3  # and the limit is used, not starved


async def test_no_rolling_minute_admits_more_than_the_tokens_per_minute_limit(counters):
    admitted = await _steady_stream(counters, Limits(tpm=1000), per_second=2, seconds=150, tokens=100)
    assert _most_in_any_minute(admitted) * 100 <= 1000
    assert _most_in_any_minute(admitted) == 10


async def test_team_limits_hold_across_the_teams_keys(counters):
    limits = Limits(rpm=3)
    for i in range(3):
        assert await counters.admit(admit(f"r{i}", key=i, team_limits=limits)) is None
    refused = await counters.admit(admit("r9", key=9, team_limits=limits))
    assert refused is not None and refused.reason == "team_rpm" and refused.scope == "team"


async def test_tokens_per_minute_count_the_estimate_and_the_correction(counters):
    limits = Limits(tpm=1000)
    assert await counters.admit(admit("a", tokens=600, key_limits=limits)) is None
    assert (await counters.admit(admit("b", tokens=600, key_limits=limits))).reason == "key_tpm"
    counters.settle(settle("a", token_delta=-500))  # it used 100 tokens, not 600
    await counters.flush()
    assert await counters.admit(admit("b", tokens=600, key_limits=limits)) is None


async def test_a_window_idle_for_minutes_counts_nothing_old(counters):
    """A window checked again long after its last count (a clock jump: Redis has not expired it yet) drops
    every old second at once, and counts what comes after exactly."""
    limits = Limits(rpm=2, tpm=100)
    assert await counters.admit(admit("a", T0, key_limits=limits, tokens=50)) is None
    assert await counters.admit(admit("b", T0 + 1, key_limits=limits, tokens=50)) is None
    later = T0 + 1000.5
    assert await counters.admit(admit("c", later, key_limits=limits, tokens=50)) is None
    assert await counters.admit(admit("d", later, key_limits=limits, tokens=50)) is None
    refused = await counters.admit(admit("e", later + 1, key_limits=limits, tokens=1))
    assert refused is not None and refused.reason == "key_rpm" and refused.retry_after == 60


async def test_a_token_correction_moves_the_windows_total(counters):
    """The running total of a window follows a settlement's correction, and leaves with its second."""
    limits = Limits(tpm=1000)
    assert await counters.admit(admit("a", T0 + 0.5, tokens=900, key_limits=limits)) is None
    counters.settle(settle("a", T0 + 2, token_delta=-800, admitted_at=T0 + 0.5))
    await counters.flush()
    assert await counters.admit(admit("b", T0 + 3, tokens=900, key_limits=limits)) is None  # 100 + 900
    refused = await counters.admit(admit("c", T0 + 4, tokens=1, key_limits=limits))
    assert refused is not None and refused.reason == "key_tpm" and refused.retry_after == 57
    assert await counters.admit(admit("c", T0 + 61, tokens=100, key_limits=limits)) is None  # "a" left


@pytest.mark.parametrize("counters", ["redis", "cluster"], indirect=True)  # in memory: one process, one clock
async def test_a_count_from_an_instance_whose_clock_is_behind_still_leaves_the_window(counters):
    """Two instances' clocks a minute apart: the lagging one's count leaves once a minute old by its second."""
    limits = Limits(rpm=2)
    assert await counters.admit(admit("a", T0 + 100, key_limits=limits)) is None
    assert await counters.admit(admit("b", T0 + 30, key_limits=limits)) is None  # 70 s behind
    assert await counters.admit(admit("c", T0 + 150, key_limits=limits)) is None  # "b" has left, "a" not
    assert (await counters.admit(admit("d", T0 + 150, key_limits=limits))).reason == "key_rpm"


async def test_concurrency_slots_are_freed_at_settlement(counters):
    limits = Limits(concurrent=2)
    assert await counters.admit(admit("a", key_limits=limits)) is None
    assert await counters.admit(admit("b", key_limits=limits)) is None
    refused = await counters.admit(admit("c", key_limits=limits))
    assert refused is not None and refused.reason == "key_concurrent" and refused.retry_after >= 1
    counters.settle(settle("a"))
    await counters.flush()
    assert await counters.admit(admit("c", key_limits=limits)) is None


async def test_balance_unknown_until_loaded(counters):
    refused = await counters.admit(admit("a", amount=10))
    assert refused is not None and refused.reason == "team_unknown"
    await counters.set_balance(7, 100, 1)
    assert await counters.admit(admit("a", amount=10)) is None


async def test_reservations_refuse_what_the_balance_cannot_cover(counters):
    await counters.set_balance(7, 100, 1)
    slots = Limits(concurrent=10)
    assert await counters.admit(admit("a", amount=60, team_limits=slots)) is None
    refused = await counters.admit(admit("b", amount=60, team_limits=slots))
    assert refused is not None and refused.reason == "team_balance" and refused.retry_after == 0
    assert await counters.admit(admit("c", amount=40, team_limits=slots)) is None
    state = await counters.team_state(7, T0)
    assert (state.balance, state.reserved, state.reservations, state.in_flight) == (100, 100, 2, 2)


async def test_an_admission_leaves_its_headroom_for_speculation_where_there_is_a_round_trip(counters):
    """Redis (and a cluster) keep what each admission left per (key, team); memory keeps none (no round
    trip to save: accounting/speculation.py)."""
    await counters.set_balance(7, 1000, 1)
    await counters.load_key_spend(1, 7, "m", 100, 3600)
    key_limits = Limits(rpm=10, tpm=500, concurrent=20)
    team_limits = Limits(concurrent=5)
    request = admit("a", amount=60, tokens=40, key_limits=key_limits, team_limits=team_limits, budget=400, period="m")
    assert await counters.admit(request) is None
    room = counters.headroom(1, 7)
    if isinstance(counters, MemoryCounters):
        assert room is None
        return
    assert room is not None and time.monotonic() - room.seen < 5
    # requests: rpm 10 - 1 = 9, key slots 20 - 1 = 19, team slots 5 - 1 = 4; tokens: 500 - 40;
    # money: the budget's 400 - 100 spent - 60 (less than the balance's 1000 - 60)
    assert (room.requests, room.tokens, room.money) == (4, 460, 240)
    assert await counters.admit(admit("b", key=2)) is None
    unlimited = counters.headroom(2, 7)
    assert unlimited is not None and (unlimited.requests, unlimited.tokens, unlimited.money) == (-1, -1, -1)
    refused = await counters.admit(admit("c", amount=2000, budget=400, period="m"))
    assert refused is not None and counters.headroom(1, 7) is None  # a refusal: nothing known to speculate on


async def test_free_requests_pass_an_empty_balance(counters):
    await counters.set_balance(7, 0, 1)
    assert await counters.admit(admit("a", amount=0)) is None


async def test_settlement_holds_the_actual_cost_until_commit_then_the_balance_has_it(counters):
    await counters.set_balance(7, 100, 1)
    assert await counters.admit(admit("a", amount=60)) is None
    counters.settle(settle("a", cost=25))  # served for 25: the hold shrinks to 25
    await counters.flush()
    state = await counters.team_state(7, T0)
    assert (state.balance, state.reserved, state.in_flight) == (100, 25, 0)
    assert await counters.admit(admit("b", amount=75)) is None  # 100 - 25 available
    counters.settle(settle("b"))  # refused upstream: costs nothing, releases everything
    counters.commit(7, 75, 2, ["a"])  # the writer stored a's charge: balance 75, hold gone
    await counters.flush()
    state = await counters.team_state(7, T0)
    assert (state.balance, state.version, state.reserved, state.reservations) == (75, 2, 0, 0)


async def test_an_older_balance_never_replaces_a_newer_one(counters):
    await counters.set_balance(7, 50, 5)
    await counters.set_balance(7, 999, 4)  # a slow instance's stale read
    counters.commit(7, 1, 3, [])
    await counters.flush()
    assert (await counters.team_state(7, T0)).balance == 50
    await counters.set_balance(7, 40, 6)
    assert (await counters.team_state(7, T0)).balance == 40


async def test_a_dead_instances_reservations_expire_with_their_lease_unless_renewed(counters):
    await counters.set_balance(7, 100, 1)
    assert await counters.admit(admit("dead", amount=80)) is None
    assert await counters.admit(admit("alive", amount=20)) is None
    await counters.renew([Lease("alive", 1, 7)], T0 + 3 * TTL)
    later = T0 + 2 * TTL
    state = await counters.team_state(7, later)
    assert (state.reserved, state.reservations) == (20, 1)  # "dead" expired, "alive" was renewed
    assert await counters.admit(admit("next", later, amount=80)) is None


async def test_key_budget_counts_spend_and_reservations_of_the_period(counters):
    await counters.set_balance(7, 10_000, 1)
    budget = {"budget": 100, "period": "d2027-01-15", "period_ttl": 3600.0}
    await counters.load_key_spend(1, 7, "d2027-01-15", 30, 3600)  # spent earlier, from the database
    await counters.load_key_spend(1, 7, "d2027-01-15", 999, 3600)  # already there: kept
    assert await counters.admit(admit("a", amount=50, **budget)) is None
    refused = await counters.admit(admit("b", amount=30, **budget))
    assert refused is not None and refused.reason == "key_budget"
    counters.settle(settle("a", cost=20, period="d2027-01-15", period_ttl=3600.0))
    await counters.flush()
    assert await counters.key_spend(1, 7, "d2027-01-15") == 50
    assert await counters.admit(admit("b", amount=50, **budget)) is None
    counters.settle(settle("b", cost=50, period="d2027-01-15", period_ttl=3600.0))
    await counters.flush()
    # another period starts empty, once loaded
    await counters.load_key_spend(1, 7, "d2027-01-16", 0, 3600)
    assert await counters.admit(admit("c", amount=90, budget=100, period="d2027-01-16", period_ttl=3600.0)) is None


async def test_keys_without_a_team_have_limits_and_budgets_but_no_balance(counters):
    limits = Limits(concurrent=1)
    await counters.load_key_spend(1, None, "m", 0, 60)
    assert await counters.admit(admit("a", team=None, amount=50, key_limits=limits, budget=60, period="m")) is None
    assert (await counters.admit(admit("b", team=None, key_limits=limits))).reason == "key_concurrent"
    counters.settle(settle("a", team=None, cost=50, period="m", period_ttl=60.0))
    await counters.flush()
    refused = await counters.admit(admit("b", team=None, amount=20, key_limits=limits, budget=60, period="m"))
    assert refused is not None and refused.reason == "key_budget"


async def test_spend_per_minute_for_alerts(counters):
    await counters.set_balance(7, 10_000, 1)
    for i, (when, cost) in enumerate([(T0, 5), (T0 + 10, 7), (T0 + 70, 11)]):
        assert await counters.admit(admit(f"r{i}", when, amount=20)) is None
        counters.settle(settle(f"r{i}", when, cost=cost))
    await counters.flush()
    minute = int(T0 // 60)
    assert await counters.spend_minutes("team", 7, 7, [minute - 1, minute, minute + 1]) == [0, 12, 11]
    assert await counters.spend_minutes("key", 1, 7, [minute, minute + 1]) == [12, 11]


async def test_claims_are_granted_once_per_ttl(counters):
    assert await counters.claim("alert:team:7", T0, 60) is True
    assert await counters.claim("alert:team:7", T0 + 1, 60) is False


async def test_simultaneous_admissions_never_overspend(counters):
    """Many admissions at once (for Redis: over several connections): exactly as many as the balance covers."""
    await counters.set_balance(7, 1000, 1)
    results = await asyncio.gather(*(counters.admit(admit(f"r{i}", amount=30, key=i % 5)) for i in range(100)))
    admitted = [r for r in results if r is None]
    assert len(admitted) == 1000 // 30
    assert all(r.reason == "team_balance" for r in results if r is not None)
    assert (await counters.team_state(7, T0)).reserved == 30 * len(admitted)


async def test_two_redis_clients_share_one_truth():
    """Two instances = two clients on one prefix: what one reserves, the other sees."""
    first, prefix = await _open("redis")
    from onegate.counters.redis import RedisCounters

    second = RedisCounters(REDIS_URL, prefix)
    try:
        await first.set_balance(7, 100, 1)
        assert await first.admit(admit("a", amount=70)) is None
        assert (await second.admit(admit("b", amount=70))).reason == "team_balance"
        first.settle(settle("a", cost=10))
        await first.flush()
        assert await second.admit(admit("b", amount=70)) is None
    finally:
        await first.close()
        await second.close()
        drop_redis_prefix(prefix or "")


async def test_a_budget_whose_spend_is_not_loaded_is_unknown_and_a_settlement_does_not_create_it(counters):
    """After Redis restarts empty the key's spend is gone: admission asks for it instead of counting from 0."""
    budget = {"budget": 100, "period": "d2027-01-15", "period_ttl": 3600.0}
    await counters.set_balance(7, 10_000, 1)
    refused = await counters.admit(admit("a", amount=50, **budget))
    assert refused is not None and refused.reason == "key_unknown"
    counters.settle(settle("z", cost=40, period="d2027-01-15", period_ttl=3600.0))  # a request admitted before
    await counters.flush()
    assert (await counters.admit(admit("a", amount=50, **budget))).reason == "key_unknown"
    await counters.load_key_spend(1, 7, "d2027-01-15", 80, 3600)  # the database has everything so far
    assert (await counters.admit(admit("a", amount=50, **budget))).reason == "key_budget"
    assert await counters.admit(admit("b", amount=20, **budget)) is None


async def test_what_the_money_left_cannot_pay_is_capped_down_to_the_least_then_refused(counters):
    await counters.set_balance(7, 100, 1)
    assert await counters.admit(admit("a", amount=70)) is None
    capped = await counters.admit(admit("b", amount=70, least=10))
    assert isinstance(capped, Capped) and capped.amount == 30
    assert (await counters.team_state(7, T0)).reserved == 100
    refused = await counters.admit(admit("c", amount=70, least=10))
    assert refused is not None and refused.reason == "team_balance"
    # an overdraft lets reservations go that far below zero, and no further
    capped = await counters.admit(admit("d", amount=70, least=10, overdraft=25))
    assert isinstance(capped, Capped) and capped.amount == 25


async def test_a_key_budget_caps_like_a_balance(counters):
    await counters.set_balance(7, 10_000, 1)
    await counters.load_key_spend(1, 7, "m", 60, 3600)
    budget = {"budget": 100, "period": "m", "period_ttl": 3600.0}
    capped = await counters.admit(admit("a", amount=70, least=5, **budget))
    assert isinstance(capped, Capped) and capped.amount == 40
    assert (await counters.admit(admit("b", amount=70, least=5, **budget))).reason == "key_budget"


async def test_a_frozen_redis_fails_admission_within_the_timeout_and_the_next_connection_works(tmp_path):
    from onegate.counters.redis import RedisCounters
    from onegate.counters.resp import RedisError

    with private_redis(tmp_path) as server:
        counters = RedisCounters(server.url, "t:", timeout=0.2)
        try:
            await counters.set_balance(7, 100, 1)
            server.freeze()
            started = time.monotonic()
            with pytest.raises(RedisError, match="did not answer within 0.2 s"):
                await counters.admit(admit("a", amount=10))
            assert time.monotonic() - started < 0.6
            server.thaw()
            await asyncio.sleep(0.3)  # past the reconnect pause
            assert await counters.admit(admit("b", amount=10)) is None
        finally:
            server.thaw()
            await counters.close()


async def test_a_commit_that_missed_redis_is_sent_again_until_it_lands(tmp_path):
    """A lost commit would leave its charge held on top of a balance that already has it."""
    from onegate.counters.redis import RedisCounters

    with private_redis(tmp_path) as server:
        counters = RedisCounters(server.url, "t:", timeout=0.2)
        try:
            await counters.set_balance(7, 100, 1)
            server.stop()
            counters.commit(7, 75, 2, ["a"])
            await asyncio.sleep(0.3)
            server.start()  # empty: only the commit sent again can bring the balance
            for _ in range(40):
                await asyncio.sleep(0.1)
                with contextlib.suppress(Exception):
                    if (await counters.team_state(7, T0)).balance == 75:
                        break
            assert (await counters.team_state(7, T0)).balance == 75
        finally:
            await counters.close()


async def test_a_requests_success_counts_leave_with_its_settlement_in_one_write(tmp_path):
    """The channel state shares the counters' connection and its success counts are lazy (counters/resp.py):
    they go with the settlement that follows, one wake-up of Redis instead of two; alone, within a few ms."""
    import redis

    from onegate.channels.redis import RedisChannelStore
    from onegate.counters.redis import RedisCounters

    with private_redis(tmp_path) as server:
        counters = RedisCounters(server.url, "t:")
        channels = RedisChannelStore(server.url, "c:", 12.0, lean=counters.client)
        probe = redis.Redis.from_url(server.url)
        try:
            assert await counters.admit(admit("a", time.time())) is None
            reads = int(probe.info("stats")["total_reads_processed"])  # this INFO's read included
            await channels.add_success("ch", 120.0, time.time())
            counters.settle(settle("a", time.time()))
            await counters.flush()
            assert int(probe.info("stats")["total_reads_processed"]) - reads == 2  # one write, then this INFO
            windows = await channels.windows(["ch"], time.time())
            assert (windows["ch"].successes, windows["ch"].latency_ms) == (1, 120.0)
            await channels.add_success("ch", 80.0, time.time())  # nothing follows: it leaves by itself
            await asyncio.sleep(0.1)
            assert (await channels.windows(["ch"], time.time()))["ch"].successes == 2
        finally:
            probe.close()
            await channels.close()
            await counters.close()
