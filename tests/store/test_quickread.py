"""`store/quickread.py` reads with the stdlib's sqlite3 what store/keys.py, teams.py and prices.py read with
SQLAlchemy, for `onegate serve` to answer before SQLAlchemy is imported: the same records and revisions, or
None whenever the SQLAlchemy way must run (PostgreSQL, no database yet, a schema to migrate)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete

from onegate.settings import PriceConfig
from onegate.store import quickread
from onegate.store.db import open_engine
from onegate.store.keys import KeyOptions, create_key, keys_revision, list_keys
from onegate.store.migrations import STEPS, migrate
from onegate.store.prices import list_prices, prices_revision, set_price
from onegate.store.schema import schema_migrations
from onegate.store.teams import change_balance, create_team, list_teams, teams_revision


def test_reads_the_records_and_revisions_sqlalchemy_reads(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'onegate.db'}"
    engine = open_engine(url)
    migrate(engine)
    team = create_team(engine, "research", model_groups=["fast"], rpm=60)
    change_balance(engine, "research", "topup", 5_000_000, actor="test")
    create_key(engine, "plain")
    options = KeyOptions(team_id=team.id, budget_micros=1_000_000, budget_period="daily", rpm=5, tpm=500)
    create_key(engine, "limited", models=["gpt-4.1-mini"], expires_at=2e9, options=options)
    set_price(engine, "gpt-4.1-mini", PriceConfig(input=0.4, output=1.6, image_prices={"1024x1024": 0.1}), "test")

    snapshot = quickread.read(url)

    assert snapshot is not None
    assert snapshot.keys == list_keys(engine) and len(snapshot.keys) == 2
    assert snapshot.keys_revision == keys_revision(engine)
    assert snapshot.teams == list_teams(engine) and snapshot.teams[0].balance_micros == 5_000_000
    assert snapshot.teams_revision == teams_revision(engine)
    assert snapshot.prices == list_prices(engine)
    assert snapshot.prices_revision == prices_revision(engine)
    engine.dispose()


def test_an_empty_database_reads_as_empty(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'onegate.db'}"
    engine = open_engine(url)
    migrate(engine)
    snapshot = quickread.read(url)
    assert snapshot is not None and (snapshot.keys, snapshot.teams, snapshot.prices) == ([], [], {})
    assert snapshot.keys_revision == keys_revision(engine) == (0.0, 0)
    with quickread.current(url) as conn:
        assert conn is not None and not quickread.has_keys(conn)
    engine.dispose()


def test_a_database_to_migrate_goes_the_sqlalchemy_way(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'onegate.db'}"
    engine = open_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(delete(schema_migrations).where(schema_migrations.c.version == STEPS[-1][0]))
    assert quickread.read(url) is None
    migrate(engine)
    assert quickread.read(url) is not None
    engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://localhost/test",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite+pysqlite:///{dir}/onegate.db",
        "sqlite:///{dir}/onegate.db?mode=ro",
        "sqlite:///{dir}/missing.db",
        "sqlite:///{dir}/not-a-database.db",
    ],
)
def test_anything_but_a_ready_sqlite_file_is_left_to_sqlalchemy(tmp_path: Path, url: str):
    (tmp_path / "not-a-database.db").write_text("hello")
    engine = open_engine(f"sqlite:///{tmp_path / 'onegate.db'}")
    migrate(engine)
    engine.dispose()
    assert quickread.read(url.format(dir=tmp_path)) is None
