"""Two and more onegate processes on one PostgreSQL and one Redis: the money holds across instances,
survives kill -9, and changes reach every instance within a second. Real servers only: skipped where
PostgreSQL or Redis is absent, failed under ONEGATE_REQUIRE_SERVICES=1."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator

import orjson
import pytest

from onegate.store.keys import KeyOptions, create_key
from onegate.store.teams import change_balance, create_team
from tests.multi.stack import Stack, fire, open_stack, wait_until

RESERVATION_TTL = 2.0


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    with open_stack(tmp_path) as running:
        yield running


def team_with_key(stack: Stack, balance: int) -> tuple[int, str]:
    team = create_team(stack.engine, "acme")
    if balance:
        change_balance(stack.engine, "acme", "topup", balance, "test")
    return team.id, create_key(stack.engine, "load", options=KeyOptions(team_id=team.id))[1]


def reconciled(stack: Stack, team_id: int, requests: int) -> bool:
    """Every log row written, no reservation left, Redis's balance equal to the database's."""
    if stack.log_count() < requests:
        return False
    state = stack.team_state(team_id)
    return state.reserved == 0 and state.reservations == 0 and state.balance == stack.balance("acme")


def test_two_instances_never_overspend_one_team_and_the_ledger_matches_the_log(stack):
    _two_instances_never_overspend(stack)


def test_the_same_holds_on_a_redis_cluster_and_through_a_transaction_pooler(tmp_path, redis_cluster):
    """Counters on a three-node Redis Cluster (the instances told a node that does not hold the team's
    keys) and PostgreSQL through PgBouncer in transaction mode: the same money guarantees."""
    with open_stack(tmp_path, redis_cluster.url_away_from("{t1}"), pooled=True) as stack:
        # every admission has to follow MOVED to team 1's node. Three Redis nodes, a pooler and two instances
        # on a busy two-core machine: a stall past the default 0.25 s Redis deadline would fail admissions
        # (503, by design); this test is about the money, so it gives Redis more time
        _two_instances_never_overspend(stack, redis_timeout=2.0)


def _two_instances_never_overspend(stack: Stack, **config: object) -> None:
    stack.start_upstream("--delay", "0.5")  # every request is in flight at once
    # each request reserves ~35_000 (prompt estimate + max_tokens 10 at 1000 a token) and costs 7_000
    team_id, key = team_with_key(stack, balance=3_000_000)
    assert team_id == 1  # the cluster test picks a node away from team 1's keys
    instances = stack.start(2, stack.config(accounting={"reservation_ttl": RESERVATION_TTL}, **config))
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:  # the durable balance, watched while the load runs
        while not stop.is_set():
            samples.append(stack.balance("acme"))
            time.sleep(0.05)

    watcher = threading.Thread(target=sample)
    watcher.start()
    try:
        outcomes = asyncio.run(fire([i.root for i in instances], key, 250))
    finally:
        stop.set()
        watcher.join()
    statuses = Counter(o.status for o in outcomes)
    assert set(statuses) == {200, 402}, statuses
    assert 40 <= statuses[200] <= 120 and statuses[200] + statuses[402] == 250
    for refused in (o for o in outcomes if o.status == 402):
        assert orjson.loads(refused.body)["error"]["type"] == "insufficient_quota"
    assert wait_until(lambda: reconciled(stack, team_id, 250)), stack.team_state(team_id)
    charges, logged = stack.charges(), stack.logged()
    served = {o.request_id for o in outcomes if o.status == 200}
    assert set(charges) == served
    assert sum(charges.values()) == sum(r["cost_micros"] for r in logged.values())
    assert stack.balance("acme") == 3_000_000 - sum(charges.values()) >= 0
    assert min(samples) >= 0


def test_kill_9_mid_load_then_restart_loses_no_charge_and_reservations_expire(stack):
    stack.start_upstream("--stream-chunks", "8", "--chunk-delay", "0.08")  # streams last ~0.6 s
    team_id, key = team_with_key(stack, balance=100_000_000)
    config = stack.config(durable_writes=True, accounting={"reservation_ttl": RESERVATION_TTL})
    victim, survivor = stack.start(2, config)

    async def load_and_kill() -> list:
        # requests start over 3 s; once the victim has served 20, it dies with others in flight, more to come
        done: list = []
        load = asyncio.ensure_future(fire([victim.root, survivor.root], key, 300, True, spread=3.0, done=done))
        while sum(1 for url, o in done if url == victim.root and o.complete) < 20 and not load.done():
            await asyncio.sleep(0.01)
        victim.kill()
        killed_at.append(time.monotonic())
        return await load

    killed_at: list[float] = []
    outcomes = asyncio.run(load_and_kill())
    # the dead instance's leases were last renewed before the kill: none may outlive kill + ttl (request
    # ids carry their process's tag, which tells the dead instance's reservations from the survivor's)
    victim_tag = next(o.request_id[4:14] for i, o in enumerate(outcomes) if i % 2 == 0 and o.complete)
    # what stays of it are the holds of charges settled but not yet in the database (they are in its
    # journal): they keep counting against the balance until its restart replays them
    time.sleep(max(0.0, killed_at[0] + RESERVATION_TTL + 0.2 - time.monotonic()))
    live = [rid for rid in stack.live_reservations(team_id) if rid[4:14] == victim_tag]
    assert live == [rid for rid in stack.live_reservations(team_id, beyond=3600) if rid[4:14] == victim_tag]
    victim.start()  # same data directory: its journal is replayed
    victim.wait_ready()
    served = [o for o in outcomes if o.complete]
    cut = [o for o in outcomes if not o.complete]
    by_victim = [o for i, o in enumerate(outcomes) if i % 2 == 0 and o.complete]
    assert by_victim and cut, "the kill should land mid-load"
    assert wait_until(lambda: reconciled(stack, team_id, len(served))), (
        stack.log_count(),
        len(served),
        stack.team_state(team_id),
        stack.balance("acme"),
        [(i % 2, o.request_id) for i, o in enumerate(outcomes) if o.complete and o.request_id not in stack.logged()],
        victim_tag,
        survivor.output()[-1500:],
        victim.output()[-1500:],
    )
    charges, logged = stack.charges(), stack.logged()
    lost_rows = [o.request_id for o in served if o.request_id not in logged]
    lost_charges = [o.request_id for o in served if o.request_id not in charges]
    assert lost_rows == [] and lost_charges == []
    assert sum(charges.values()) == sum(r["cost_micros"] for r in logged.values())
    assert stack.balance("acme") == 100_000_000 - sum(charges.values())
    # requests cut by the kill: those whose record step ran are logged (usage so far); the rest never
    # reached it, so no row can exist for them
    print(f"\nkill -9: {len(served)} served ({len(by_victim)} by the killed instance), all logged and charged; "
          f"{len(cut)} cut or refused by the dead instance, none of which had reached its record step")  # fmt: skip


def test_a_top_up_a_new_price_and_a_disabled_key_reach_every_instance_within_a_second(stack):
    stack.start_upstream()
    team_id, key = team_with_key(stack, balance=0)
    config = stack.config()  # database polling only every 10 s with Redis: what arrives fast is the push
    instances = stack.start(2, config)
    assert {o.status for o in asyncio.run(fire([i.root for i in instances], key, 4))} == {402}

    stack.cli(config, "teams", "topup", "acme", "100", "--note", "test")
    topped = time.monotonic()
    assert wait_until(lambda: _all_status(instances, key, 200), timeout=3, interval=0.05)
    assert time.monotonic() - topped < 1.0

    stack.cli(config, "prices", "set", "gpt-4.1-mini", "--input", "2000", "--output", "2000")
    changed = time.monotonic()
    outcomes = wait_until(lambda: _all_priced(stack, instances, key, 14_000), timeout=3, interval=0.05)
    assert outcomes and time.monotonic() - changed < 1.0

    stack.cli(config, "keys", "disable", "load")
    disabled = time.monotonic()
    assert wait_until(lambda: _all_status(instances, key, 401), timeout=3, interval=0.05)
    assert time.monotonic() - disabled < 1.0


def _all_priced(stack: Stack, instances, key: str, cost: int) -> bool:
    outcomes = asyncio.run(fire([i.root for i in instances], key, len(instances)))
    wait_until(lambda: all(o.request_id in stack.logged() for o in outcomes), timeout=2)
    logged = stack.logged()
    return all(logged[o.request_id]["cost_micros"] == cost for o in outcomes)


def _all_status(instances, key: str, status: int) -> bool:
    return {o.status for o in asyncio.run(fire([i.root for i in instances], key, len(instances)))} == {status}


def test_serve_with_workers_runs_several_processes_on_one_port(stack):
    stack.start_upstream()
    _, key = team_with_key(stack, balance=100_000_000)
    [server] = stack.start(1, stack.config(), "--workers", "2")
    tags: set[str] = set()  # request ids carry their process's tag

    def both_serve() -> bool:
        outcomes = asyncio.run(fire([server.root], key, 20))
        assert {o.status for o in outcomes} == {200}
        tags.update(o.request_id[4:14] for o in outcomes)
        return len(tags) == 2

    assert wait_until(both_serve, timeout=20), tags
