"""Counters on a Redis Cluster (counters/cluster.py): a private cluster of three `redis-server` nodes
(tests/services.py), the client told one node. Each team's keys share a hash tag, so its scripts run
on one node; different teams live on different nodes, and the client follows the cluster's slot map,
a slot being moved (ASK) and a slot moved (MOVED) without losing a reservation."""

from __future__ import annotations

import threading
import time

import pytest

from onegate.counters.protocol import Limits
from onegate.counters.redis import RedisCounters
from tests.counters.test_counters import T0, admit, settle
from tests.services import PrivateRedisCluster, redis_prefix

# one team on each node of a fresh cluster (slots 553, 9191 and 13254 of 0-5460 / 5461-10922 / 10923-16383)
SPREAD = (7, 9, 8)


async def test_teams_on_every_node_are_admitted_limited_and_settled_exactly(redis_cluster: PrivateRedisCluster):
    prefix = redis_prefix()
    owners = {team: redis_cluster.node_of(f"{prefix}{{t{team}}}:bal") for team in SPREAD}
    assert sorted(owners.values()) == sorted(redis_cluster.ports)  # the teams really are spread
    counters = RedisCounters(redis_cluster.url_away_from(f"{{t{SPREAD[0]}}}"), prefix)
    try:
        for team in SPREAD:
            await counters.set_balance(team, 100, 1)
        for team in SPREAD:
            # the balance covers three reservations of 30, not a fourth; key 1's rpm is its own per team
            results = [await counters.admit(admit(f"r{team}-{i}", team=team, amount=30)) for i in range(4)]
            assert results[:3] == [None, None, None] and results[3].reason == "team_balance"
            limited = admit(f"x{team}", team=team, key=2, key_limits=Limits(rpm=1))
            assert await counters.admit(limited) is None
            assert (await counters.admit(admit(f"y{team}", team=team, key=2, key_limits=Limits(rpm=1)))).reason == (
                "key_rpm"
            )
        assert counters.client.cluster
        for team in SPREAD:
            counters.settle(settle(f"r{team}-0", team=team, cost=25))
            counters.commit(team, 75, 2, [f"r{team}-0"])
        await counters.flush()
        for team in SPREAD:
            state = await counters.team_state(team, T0)
            assert (state.balance, state.version, state.reserved) == (75, 2, 60)
            # the balance copy sits on the node that owns the team's slot, nowhere else
            assert redis_cluster.cli(owners[team], "hget", f"{prefix}{{t{team}}}:bal", "b") == "75"
        # a key without a team has its own tag (its own slot) and its own limits
        assert await counters.admit(admit("solo", team=None, key=4, key_limits=Limits(rpm=1))) is None
        assert (await counters.admit(admit("solo2", team=None, key=4, key_limits=Limits(rpm=1)))).reason == "key_rpm"
    finally:
        await counters.close()


@pytest.mark.parametrize("team", [3])  # slot 685: used by no other test, so moving it disturbs none
async def test_a_slot_being_moved_and_then_moved_keeps_every_reservation(redis_cluster: PrivateRedisCluster, team):
    """While a slot migrates, a one-key command follows ASK to the keys' new node, and a script whose keys
    are split between the two nodes (TRYAGAIN) is tried again until the move is done; after it, MOVED."""
    prefix = redis_prefix()
    key = f"{prefix}{{t{team}}}:bal"
    slot, source = redis_cluster.slot_of(key), redis_cluster.node_of(key)
    target = next(p for p in redis_cluster.ports if p != source)
    counters = RedisCounters(redis_cluster.url_away_from(f"{{t{team}}}"), prefix, timeout=2.0)
    try:
        await counters.set_balance(team, 100, 1)
        await counters.load_key_spend(1, team, "m", 5, 3600)
        assert await counters.admit(admit("a", team=team, amount=40)) is None

        redis_cluster.start_moving(slot, source, target)  # keys now on the target; the source answers ASK
        assert await counters.key_spend(1, team, "m") == 5  # ASK, then ASKING + GET on the target
        finishing = threading.Timer(0.3, redis_cluster.finish_moving, (slot, target))
        finishing.start()
        try:
            started = time.monotonic()
            assert await counters.admit(admit("b", team=team, amount=40)) is None  # TRYAGAIN … then MOVED
            assert time.monotonic() - started >= 0.2
        finally:
            finishing.join()
        assert (await counters.admit(admit("c", team=team, amount=40))).reason == "team_balance"
        counters.settle(settle("a", team=team, cost=30))
        counters.commit(team, 70, 2, ["a"])
        await counters.flush()
        state = await counters.team_state(team, T0)
        assert (state.balance, state.reserved) == (70, 40)  # "b" still reserved, "a" in the balance
        assert await counters.admit(admit("d", team=team, amount=30)) is None
        assert (await counters.admit(admit("e", team=team, amount=1))).reason == "team_balance"
        assert redis_cluster.cli(target, "hget", key, "b") == "70"
    finally:
        await counters.close()
