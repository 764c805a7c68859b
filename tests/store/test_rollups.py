"""Rollups, keyset pages and retention on SQLite and PostgreSQL: totals from rollups equal the raw rows
for any range, a replayed batch adds nothing, pages never skip or repeat a row, pruning keeps the totals."""

from __future__ import annotations

import random

from sqlalchemy import Engine, func, inspect, select, text

from onegate.store import log_queries
from onegate.store.db import open_engine
from onegate.store.ledger import Settlement, SettlementStore, write_settlements
from onegate.store.log_queries import LogFilter, split_range
from onegate.store.migrations import STEPS, migrate
from onegate.store.rollups import DAY, HOUR
from onegate.store.schema import metadata, request_logs, schema_migrations, usage_daily, usage_hourly
from tests.records import log_row

START = 1_790_000_000.0  # a fixed moment, so ranges cross hour and day boundaries the same way each run


def _row(i: int, at: float, rng: random.Random) -> dict:
    status = rng.choice([200, 200, 200, 429, 502])
    return {
        "request_id": f"req_{i:08d}", "created_at": at, "key_id": rng.choice([1, 2, 3, None]),
        "key_mask": "sk-…abcd", "team_id": rng.choice([1, 2, None]), "client_name": rng.choice(["cursor", "curl"]),
        "client_version": "", "user_agent": "", "method": "POST", "path": "/api/v1/chat/completions",
        "dialect": "openai_chat", "model_requested": rng.choice(["m1", "m2"]), "channel": rng.choice(["c1", "c2"]),
        "status": status, "error_code": None if status == 200 else f"e{status}", "stream": False,
        "latency_ms": rng.uniform(1, 900), "ttfb_ms": 1.0, "input_tokens": rng.randint(0, 500), "cached_tokens": 0,
        "cache_write_tokens": 0, "output_tokens": rng.randint(0, 500), "reasoning_tokens": 0,
        "cost_micros": rng.randint(0, 9000), "usage_estimated": False,
    }  # fmt: skip


def _fill(engine: Engine, count: int = 600, seed: int = 7, ties: bool = True) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        at = START + rng.uniform(0, 3 * DAY)
        if ties and i % 10 == 0 and rows:
            at = rows[-1]["created_at"]  # same timestamp: the cursor must break the tie
        rows.append(_row(i, at, rng))
    batches = SettlementStore(engine)  # as the writer stores them (PostgreSQL: one statement a batch)
    for start in range(0, count, 250):
        batches.store([Settlement(log_row(**r)) for r in rows[start : start + 250]])
    batches.close()
    return rows


def _raw_totals(rows: list[dict], f: LogFilter) -> dict[str, int]:
    def keep(r: dict) -> bool:
        return (
            (f.since is None or r["created_at"] >= f.since)
            and (f.until is None or r["created_at"] < f.until)
            and (f.key_id is None or r["key_id"] == f.key_id)
            and (f.model is None or r["model_requested"] == f.model)
            and (f.failed is None or (r["status"] >= 400) == f.failed)
        )

    kept = [r for r in rows if keep(r)]
    return {
        "requests": len(kept), "failed": sum(r["status"] >= 400 for r in kept),
        "input_tokens": sum(r["input_tokens"] for r in kept), "cached_tokens": 0,
        "output_tokens": sum(r["output_tokens"] for r in kept), "cost_micros": sum(r["cost_micros"] for r in kept),
    }  # fmt: skip


def test_totals_from_rollups_equal_the_raw_rows_for_any_range(engine):
    rows = _fill(engine)
    rng = random.Random(3)
    now = START + 4 * DAY
    filters = [LogFilter(), LogFilter(since=START + 5.5, until=START + 2 * DAY + 77.25)]
    for _ in range(25):
        a, b = sorted(rng.uniform(START - HOUR, START + 3 * DAY + HOUR) for _ in range(2))
        filters.append(
            LogFilter(
                since=a if rng.random() < 0.9 else None, until=b if rng.random() < 0.8 else None,
                key_id=rng.choice([None, 1, 2]), model=rng.choice([None, "m1"]), failed=rng.choice([None, True, False]),
            )
        )  # fmt: skip
    for f in filters:
        assert log_queries.totals(engine, f, now) == _raw_totals(rows, f), f


def test_a_replayed_batch_adds_nothing_to_the_rollups(engine):
    rows = _fill(engine, count=100)

    def sums() -> tuple[int, int]:
        with engine.connect() as conn:
            requests = conn.execute(select(func.sum(usage_hourly.c.requests))).scalar_one()
            cost = conn.execute(select(func.sum(usage_daily.c.cost_micros))).scalar_one()
        return int(requests), int(cost)

    before = sums()
    batches = SettlementStore(engine)  # a spill file or journal replaying what is already stored, plus one new row
    batches.store(
        [Settlement(log_row(**r)) for r in rows] + [Settlement(log_row(**_row(10_000, START, random.Random(1))))]
    )
    batches.close()
    after = sums()
    assert before[0] == 100 and after[0] == 101
    assert after[1] - before[1] == _row(10_000, START, random.Random(1))["cost_micros"]


def test_keyset_pages_visit_every_row_once_in_order(engine):
    rows = _fill(engine, count=333)
    expected = [r["request_id"] for r in sorted(rows, key=lambda r: (r["created_at"], r["request_id"]), reverse=True)]
    seen: list[str] = []
    after = None
    while True:
        page = log_queries.page(engine, LogFilter(), 50, after)
        if not page:
            break
        seen += [r["request_id"] for r in page]
        after = (page[-1]["created_at"], page[-1]["request_id"])
    assert seen == expected
    exported = [
        r["request_id"] for chunk in log_queries.iter_rows(engine, LogFilter(), cap=120, chunk=50) for r in chunk
    ]
    assert exported == expected[:120]


def test_pruning_removes_old_raw_rows_in_batches_and_keeps_rollup_totals(engine):
    rows = _fill(engine, count=300, ties=False)
    whole_days = LogFilter(since=START - START % DAY, until=START - START % DAY + 5 * DAY)
    before = log_queries.totals(engine, whole_days, START + 6 * DAY)
    cutoff = START + 1.5 * DAY
    removed = log_queries.prune(engine, cutoff, batch=40)
    assert removed == sum(r["created_at"] < cutoff for r in rows) and removed > 40
    with engine.connect() as conn:
        assert conn.execute(select(func.min(request_logs.c.created_at))).scalar_one() >= cutoff
    assert log_queries.totals(engine, whole_days, START + 6 * DAY) == before  # whole days come from rollups


def test_split_range_covers_the_range_exactly_once():
    for since, until in (
        (START + 10, START + 2 * DAY + 3),
        (START + 10, START + 20),
        (None, START + DAY),
        (START, None),
    ):
        seg = split_range(since, until, START + 3 * DAY)
        pieces = [(a if a is not None else 0.0, b if b is not None else float("inf")) for a, b in seg.raw]
        pieces += [(float(a), float(b)) for a, b in seg.hourly + seg.daily]
        pieces.sort()
        assert pieces[0][0] == (since or 0.0) and pieces[-1][1] == (until if until is not None else float("inf"))
        assert all(p[1] == q[0] for p, q in zip(pieces, pieces[1:], strict=False))


def test_migrating_a_version_3_database_adds_indexes_and_rolls_up_existing_rows(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        with engine.begin() as conn:
            tables = [
                t
                for t in metadata.sorted_tables
                if t.name
                not in (
                    "usage_hourly",
                    "usage_daily",
                    "chart_hourly",
                    "chart_daily",
                    "admins",
                    "admin_sessions",
                    "audit_log",
                )
            ]
            metadata.create_all(conn, tables=tables)
            for name in ("team", "model", "channel", "status", "error", "client"):
                conn.execute(text(f"DROP INDEX ix_request_logs_{name}_created"))
            conn.execute(
                schema_migrations.insert(), [{"version": v, "name": n, "applied_at": 0} for v, n, _ in STEPS[:3]]
            )
            rows = [_row(i, START + i * 600, random.Random(i)) for i in range(50)]
            conn.execute(request_logs.insert(), rows)
        assert migrate(engine) == STEPS[-1][0]
        with engine.connect() as conn:
            indexes = {i["name"] for i in inspect(conn).get_indexes("request_logs")}
        assert "ix_request_logs_model_created" in indexes and "ix_request_logs_error_created" in indexes
        assert log_queries.totals(engine, LogFilter(), START + 10 * DAY) == _raw_totals(rows, LogFilter())
    finally:
        engine.dispose()


def test_a_refused_requests_made_up_model_name_never_becomes_a_rollup_key(engine):
    junk = [
        dict(_row(i, START + i, random.Random(i)), status=400, model_requested=f"{i}-" + "m" * 150) for i in range(30)
    ]
    served = dict(_row(99, START, random.Random(99)), status=200, model_requested="m1")
    with engine.begin() as conn:
        write_settlements(conn, [Settlement(log_row(**r)) for r in [*junk, served]])
    with engine.connect() as conn:
        models = set(conn.scalars(select(usage_hourly.c.model))) | set(conn.scalars(select(usage_daily.c.model)))
    assert models == {"", "m1"}  # 30 names, no rows of their own: the rollups cannot be flooded
    assert log_queries.totals(engine, LogFilter(), START + DAY)["requests"] == 31
