"""The console's log and chart queries on a big request log, SQLite and PostgreSQL.

    .venv/bin/python bench/console_logs.py [--rows 1000000] [--backends sqlite,postgresql] [--pg URL]

Fills a fresh database with N rows over 90 days (8 keys in 3 teams, 4 models, 3 channels, 5% failures),
builds the rollups the log writer keeps, then times (median of 5, milliseconds) what a console page asks:
the first logs page, the next page by cursor, a filtered first page, the totals row for 90 days (unaligned
ends) unfiltered and filtered, and a 90-day chart by model; and streams a CSV export of 100,000 rows while
tracing peak Python memory (it must stay flat: one page at a time). Target: each query under 100 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from onegate.manage.actor import Actor
from onegate.manage.logs import LogQuery, export_csv, list_logs, totals
from onegate.manage.stats import StatsQuery, stats
from onegate.store.db import open_engine
from onegate.store.migrations import migrate
from onegate.store.rollups import rebuild_rollups
from onegate.store.schema import request_logs

OWNER = Actor("owner", "bench")
DAYS = 90
CLIENTS = ["cursor", "openai-python"]


def fill(engine: Engine, rows: int, now: float) -> None:
    rng = random.Random(42)
    start = now - DAYS * 86400
    step = DAYS * 86400 / rows
    batch: list[dict[str, Any]] = []
    models, channels = ["gpt-4.1", "gpt-4.1-mini", "claude-sonnet-4-6", "o4-mini"], ["openai-a", "openai-b", "azure"]
    t0 = time.perf_counter()
    for i in range(rows):
        key = rng.randint(1, 8)
        failed = rng.random() < 0.05
        batch.append({
            "request_id": f"req_{i:012x}", "created_at": start + i * step + rng.random() * step, "key_id": key,
            "key_mask": f"sk-…{key:04d}", "team_id": 1 + key % 3, "client_name": rng.choice(CLIENTS),
            "client_version": "1.0", "user_agent": "bench", "method": "POST", "path": "/api/v1/chat/completions",
            "dialect": "openai_chat", "model_requested": rng.choice(models), "model_routed": None,
            "channel": rng.choice(channels), "status": 502 if failed else 200,
            "error_code": "upstream_bad_response" if failed else None, "stream": True,
            "latency_ms": rng.uniform(200, 9000), "ttfb_ms": rng.uniform(50, 900),
            "input_tokens": rng.randint(10, 4000),
            "cached_tokens": 0, "cache_write_tokens": 0, "output_tokens": rng.randint(1, 800), "reasoning_tokens": 0,
            "cost_micros": rng.randint(10, 20000), "usage_estimated": False,
        })  # fmt: skip
        if len(batch) == 20_000:
            with engine.begin() as conn:
                conn.execute(request_logs.insert(), batch)
            batch.clear()
    if batch:
        with engine.begin() as conn:
            conn.execute(request_logs.insert(), batch)
    t1 = time.perf_counter()
    with engine.begin() as conn:
        rebuild_rollups(conn)
        conn.execute(text("ANALYZE"))
    print(f"  filled {rows:,} rows in {t1 - t0:.0f} s, rollups in {time.perf_counter() - t1:.0f} s")


def timed(fn: Callable[[], Any], repeat: int = 5) -> float:
    fn()  # warm the cache: a console's second look, not a cold disk
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def measure(engine: Engine, now: float) -> None:
    since = now - DAYS * 86400 + 1234.5  # unaligned ends: the raw edges are read too
    first = list_logs(engine, OWNER, LogQuery(limit=50))
    assert first.next_cursor is not None
    results = {
        "logs: first page (50)": lambda: list_logs(engine, OWNER, LogQuery(limit=50)),
        "logs: next page by cursor": lambda: list_logs(engine, OWNER, LogQuery(limit=50, cursor=first.next_cursor)),
        "logs: first page, key + failed": lambda: list_logs(engine, OWNER, LogQuery(key_id=3, failed=True)),
        "logs: first page, model, 7 days ago": lambda: list_logs(
            engine, OWNER, LogQuery(model="o4-mini", until=now - 7 * 86400)
        ),
        "totals: 90 days": lambda: totals(engine, OWNER, LogQuery(since=since, until=now - 77.7)),
        "totals: 90 days, team + model": lambda: totals(
            engine, OWNER, LogQuery(since=since, until=now - 77.7, team_id=2, model="gpt-4.1")
        ),
        "chart: 90 days by model (daily)": lambda: stats(
            engine, OWNER, StatsQuery(since=since, bucket="day", group_by="model"), now
        ),
        "chart: 7 days by key (hourly)": lambda: stats(
            engine, OWNER, StatsQuery(since=now - 7 * 86400, bucket="hour", group_by="key"), now
        ),
    }
    for name, fn in results.items():
        ms = timed(fn)
        print(f"  {name:<38} {ms:8.1f} ms {'OK' if ms < 100 else 'SLOW'}")
    t = time.perf_counter()
    size = rows = 0
    for chunk in export_csv(engine, OWNER, LogQuery(), cap=100_000):
        size += len(chunk)
        rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - t
    tracemalloc.start()  # a second pass, traced (tracing slows it): memory stays one page deep
    for _ in export_csv(engine, OWNER, LogQuery(), cap=100_000):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  CSV export: {rows - 1:,} rows, {size / 1e6:.1f} MB in {elapsed:.1f} s, "
        f"peak Python memory {peak / 1e6:.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    now = time.time()
    for backend in args.backends.split(","):
        print(f"{backend}:")
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                engine = open_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
                migrate(engine)
                fill(engine, args.rows, now)
                measure(engine, now)
                engine.dispose()
        else:
            import secrets

            import psycopg

            schema = f"og_bench_{secrets.token_hex(4)}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            try:
                engine = open_engine(f"{args.pg}?options=-csearch_path%3D{schema}")
                migrate(engine)
                fill(engine, args.rows, now)
                measure(engine, now)
                engine.dispose()
            finally:
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
