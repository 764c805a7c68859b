"""Round trips per request with accounting on PostgreSQL + Redis: repeatable counts, not timings.

    .venv/bin/python -m bench.roundtrips            # 300 requests, then the counts per request
    BENCH_ROUNDTRIP_REQUESTS=1000 .venv/bin/python -m bench.roundtrips
    BENCH_ROUNDTRIP_PROFILE=1 .venv/bin/python -m bench.roundtrips   # + function calls per request, cProfile

onegate runs in this process (uvicorn in a thread) on a fresh schema of PostgreSQL database `test` and a
private `redis-server`, with the accounting of `bench/accounting.py` (prices, key and team limits, a team
balance, a key budget): every request is admitted, reserved, settled and charged. Requests go one at a
time, so nothing batches that would not batch at concurrency 1. Counted:
- Redis commands by name (the private server's `INFO commandstats`), and which of them a request waits for;
- the Redis server's socket reads and writes (`INFO stats`): how often a request wakes it, however many
  commands each read carries;
- SQL statements and transactions the gateway's engine ran (SQLAlchemy events), i.e. database round trips;
- CPU per request by thread (the event loop's, the log writer's, the rest: client and fake upstream), and
  the Redis server's own time in commands (`usec` of `INFO commandstats`: the Lua scripts' run time);
- the log rows' `timings` phases (median ms): `admit` holds admission's Redis round trip, unless the request
  went upstream before it answered (speculative admission; `BENCH_ROUNDTRIP_SPECULATE=0` turns it off):
  then `admit_async` is that round trip and `admit_wait` (rows that waited only) what the answer waited for it.
Machine load does not change these numbers, which is why they are what decisions are made on here.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import redis
import uvicorn
import yaml
from sqlalchemy import event, select

from onegate.app import Gateway
from onegate.settings import load_settings
from onegate.store.keys import KeyOptions, create_key
from onegate.store.migrations import migrate
from onegate.store.schema import request_logs
from onegate.store.teams import change_balance, create_team
from tests.conftest import free_port, raw_request, wait_for_log
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.services import POSTGRES_ROOT, PrivateRedis

REQUESTS = int(os.environ.get("BENCH_ROUNDTRIP_REQUESTS", "300"))
PROFILE = os.environ.get("BENCH_ROUNDTRIP_PROFILE", "") == "1"  # cProfile the event loop (accounting run)
# 0: speculative admission off (every request waits for its Redis admission before going upstream)
SPECULATE = os.environ.get("BENCH_ROUNDTRIP_SPECULATE", "1") != "0"
HIGH = 100_000_000
MODEL = "gpt-4.1-mini"


def _plain(upstream: str) -> dict[str, Any]:
    return {"channels": [{"name": "fake", "base_url": upstream, "models": [MODEL], "type": "openai",
                          "api_key_env": "BENCH_UPSTREAM_KEY"}]}  # fmt: skip


def _config(upstream: str, redis_url: str, prefix: str) -> dict[str, Any]:
    return _plain(upstream) | {
        "prices": {MODEL: {"input": 0.4, "cached_input": 0.1, "output": 1.6}},
        "accounting": {"key_limits": {"rpm": HIGH, "tpm": HIGH, "concurrent": 100000},
                       "team_limits": {"rpm": HIGH, "tpm": HIGH, "concurrent": 100000},
                       # only when off: an older checkout (PYTHONPATH) without the setting runs this too
                       **({} if SPECULATE else {"speculative_admission": False})},
        "redis_url": redis_url,
        "routing": {"redis_prefix": prefix},
    }  # fmt: skip


class _Statements:
    """SQL statements and transactions (commits) of one engine, counted as they run."""

    def __init__(self, engine: Any) -> None:
        self.statements = 0
        self.commits = 0
        self.lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *_args: Any) -> None:
        with self.lock:
            self.statements += 1

    def _commit(self, *_args: Any) -> None:
        with self.lock:
            self.commits += 1


def _commandstats(client: redis.Redis) -> tuple[Counter[str], int]:
    """Calls per command, and the server's microseconds in Lua scripts (admission, settlement, commits;
    a script's time includes its inner commands')."""
    stats = client.info("commandstats")
    calls = Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})
    return calls, int(stats.get("cmdstat_evalsha", {}).get("usec", 0))


def _redis_io(client: redis.Redis) -> tuple[int, int]:
    """The Redis server's socket reads and writes so far: each read is one wake-up for a batch of commands."""
    stats = client.info("stats")
    return int(stats["total_reads_processed"]), int(stats["total_writes_processed"])


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each live thread of this process, by name (one clock per thread)."""
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        try:
            seconds = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except OSError:  # ended meanwhile
            continue
        out[thread.name] = out.get(thread.name, 0.0) + seconds
    return out


def _phase_medians(gateway: Gateway, n: int) -> dict[str, float]:
    """Median ms of each phase in the last `n` log rows' `timings`."""
    with gateway.engine.connect() as conn:
        rows = conn.execute(
            select(request_logs.c.timings).order_by(request_logs.c.created_at.desc()).limit(n)
        ).scalars()
        phases: dict[str, list[float]] = {}
        for row in rows:
            for name, ms in orjson.loads(row).items():
                phases.setdefault(name, []).append(ms)
    return {name: statistics.median(values) for name, values in phases.items()}


def main() -> None:
    import psycopg

    os.environ["BENCH_UPSTREAM_KEY"] = "sk-bench"
    schema = f"og_bench_rt_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ROOT, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    work = Path(tempfile.mkdtemp(prefix="onegate-roundtrips-"))
    server = PrivateRedis(work).start()
    try:
        with FakeOpenAIUpstream() as upstream:
            plain = work / "plain.yaml"
            plain.write_text(yaml.safe_dump(_plain(upstream.base_url)))
            _run(Gateway(load_settings(data_dir=work / "plain", config_path=plain)), None)
            os.environ["ONEGATE_DATABASE_URL"] = f"{POSTGRES_ROOT}?options=-csearch_path%3D{schema}"
            config = work / "onegate.yaml"
            config.write_text(yaml.safe_dump(_config(upstream.base_url, server.url, "rt:")))
            _run(Gateway(load_settings(data_dir=work / "data", config_path=config)), server.url)
    finally:
        server.stop()
        with psycopg.connect(POSTGRES_ROOT, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _run(gateway: Gateway, redis_url: str | None) -> None:
    """`redis_url` None: plain onegate (SQLite, no accounting), the baseline."""
    migrate(gateway.engine)
    options = KeyOptions()
    if redis_url is not None:
        create_team(gateway.engine, "bench")
        change_balance(gateway.engine, "bench", "topup", 10**12, "bench")
        options = KeyOptions(team_id=1, budget_micros=10**12, budget_period="monthly")
    _, key = create_key(gateway.engine, "bench", options=options)
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(gateway, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    profile = cProfile.Profile() if PROFILE else None

    def serve() -> None:
        if profile is not None:  # the event loop's thread only (cProfile is per thread)
            profile.enable()
        uv.run()
        if profile is not None:
            profile.disable()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}/api/v1/chat/completions"
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16}
    headers = {"Authorization": f"Bearer {key}"}
    client = redis.Redis.from_url(redis_url) if redis_url else None
    try:
        for _ in range(20):  # warm-up: loads the team's balance and the key's spend into Redis
            assert raw_request("POST", url, body, headers).status == 200
        time.sleep(1.5)
        counted = _Statements(gateway.engine)
        before, usec_before = _commandstats(client) if client else (Counter(), 0)
        io_before = _redis_io(client) if client else (0, 0)
        threads = _thread_cpu()
        cpu = time.process_time()
        last = ""
        for _ in range(REQUESTS):
            response = raw_request("POST", url, body, headers)
            assert response.status == 200, response.body[:300]
            last = response.headers["x-request-id"]
        wait_for_log(gateway, last, 30)
        cpu = time.process_time() - cpu
        spent = _thread_cpu()
        by_thread = {name: spent[name] - threads.get(name, 0.0) for name in spent}
        time.sleep(1.5)  # the last batch's commit reaches Redis
        io_after = _redis_io(client) if client else (0, 0)
        after, usec = _commandstats(client) if client else (Counter(), usec_before)
        after -= before
        after.pop("info", None)
        _report(
            "onegate + accounting (PostgreSQL + Redis)" if client else "onegate (SQLite, no accounting)",
            after,
            counted,
            cpu,
            REQUESTS,
        )
        loop = by_thread.pop(thread.name, 0.0)
        writer = by_thread.pop("onegate-log-writer", 0.0)
        n = REQUESTS
        print(
            f"  CPU per request by thread: event loop {loop / n * 1e6:.0f} µs, log writer {writer / n * 1e6:.0f} µs, "
            f"the rest (client, fake upstream) {sum(by_thread.values()) / n * 1e6:.0f} µs"
        )
        if client:
            print(f"  Redis server time in scripts per request: {(usec - usec_before) / n:.1f} µs")
            reads, writes = (a - b - 1 for a, b in zip(io_after, io_before, strict=True))  # less our INFO
            print(f"  Redis socket reads / writes per request (its wake-ups): {reads / n:.2f} / {writes / n:.2f}")
        phases = _phase_medians(gateway, REQUESTS)
        print("  log rows' timings, median ms: " + ", ".join(f"{k} {v:.3f}" for k, v in phases.items()))
    finally:
        if client:
            client.close()
        uv.should_exit = True
        thread.join(30)
    if profile is not None:  # function calls: a count that machine load does not change, unlike CPU time
        stats = pstats.Stats(profile)
        print(f"  Python function calls per request on the event loop: {stats.total_calls / (REQUESTS + 20):.0f}")
        if redis_url:
            stats.sort_stats(os.environ.get("BENCH_ROUNDTRIP_SORT", "tottime")).print_stats(
                int(os.environ.get("BENCH_ROUNDTRIP_TOP", "30"))
            )


def _report(title: str, commands: Counter[str], statements: _Statements, cpu: float, n: int) -> None:
    print(f"{title}, {n} requests one at a time")
    print(f"  CPU per request (this process: gateway, writer, fake upstream, client): {cpu / n * 1e6:.0f} µs")
    print(f"  Redis commands per request (scripts' inner commands included): {sum(commands.values()) / n:.2f}")
    for name, calls in commands.most_common():
        print(f"    {name:<12} {calls / n:.3f}")
    print(f"  SQL statements per request: {statements.statements / n:.3f}")
    print(f"  database transactions per request: {statements.commits / n:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
