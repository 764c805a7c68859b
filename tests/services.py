"""Real PostgreSQL and Redis for tests: a fresh schema / key prefix per use, removed afterwards.

Tests that need them call `require_service` first (conftest.py): skipped when the server is absent,
failed under ONEGATE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
POSTGRES_ROOT = f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/test"
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A database URL whose tables live in a new schema of database `test`, dropped at the end."""
    import psycopg

    schema = f"og_test_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_ROOT, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_ROOT}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_ROOT, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def redis_prefix() -> str:
    return f"ogtest:{secrets.token_hex(6)}:"


def drop_redis_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
