"""The store's tests run on SQLite, on PostgreSQL (a fresh schema of database `test`, dropped afterwards), and
on PostgreSQL through a transaction-mode PgBouncer (no session state may be relied on)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from onegate.store.db import open_engine
from onegate.store.migrations import migrate
from tests.conftest import require_service
from tests.services import POSTGRES_HOST, POSTGRES_PORT, pgbouncer_schema, postgres_schema


@pytest.fixture(params=["sqlite", "postgresql", "pgbouncer"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'onegate.db'}"
        return
    require_service("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
    with postgres_schema() if request.param == "postgresql" else pgbouncer_schema() as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()
