"""The store on SQLite and PostgreSQL alike: migrations, teams and their audit trail, the ledger written
with log rows, prices. PostgreSQL runs in a fresh schema of database `test`, dropped afterwards."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import msgspec
import pytest
from sqlalchemy import inspect, select, text

from onegate.settings import PriceConfig
from onegate.store.db import open_engine
from onegate.store.keys import KeyOptions, create_key, list_keys
from onegate.store.ledger import (
    Committed,
    Settlement,
    SettlementStore,
    key_spend_since,
    spend_report,
    write_settlements,
)
from onegate.store.migrations import STEPS, migrate
from onegate.store.prices import clear_price, list_prices, prices_revision, set_price
from onegate.store.schema import api_keys, ledger, metadata, request_logs, schema_migrations, teams
from onegate.store.teams import TeamError, change_balance, create_team, get_team, list_teams, update_team
from tests.records import charge, count_logs, ledger_total, log_row


@pytest.fixture(params=["writer", "transaction"])
def store(request: pytest.FixtureRequest, engine) -> Iterator[Callable[[list[Settlement]], Committed]]:
    """A batch stored as the writer stores it (PostgreSQL: one statement, replays redone in replay mode) or
    by `write_settlements` in the caller's transaction: the same outcome either way."""
    if request.param == "writer":
        batches = SettlementStore(engine)
        yield batches.store
        batches.close()
        return

    def in_transaction(items: list[Settlement]) -> Committed:
        with engine.begin() as conn:
            return write_settlements(conn, items)

    yield in_transaction


def test_fresh_database_gets_the_latest_schema_and_migrating_again_changes_nothing(engine):
    with engine.connect() as conn:
        versions = list(conn.scalars(select(schema_migrations.c.version).order_by(schema_migrations.c.version)))
    assert versions == [v for v, _, _ in STEPS]
    assert migrate(engine) == STEPS[-1][0]


def test_a_version_2_database_is_upgraded_in_place(database_url):
    engine = open_engine(database_url)
    try:
        # the shape of version 2: no teams, ledger, prices or alerts; keys without budgets or limits
        with engine.begin() as conn:
            metadata.create_all(conn, tables=[schema_migrations, api_keys, request_logs])
            for column in ("budget_micros", "budget_period", "rpm", "tpm", "concurrent"):
                conn.execute(text(f"ALTER TABLE api_keys DROP COLUMN {column}"))
            conn.execute(
                schema_migrations.insert(), [{"version": v, "name": n, "applied_at": 0} for v, n, _ in STEPS[:2]]
            )
            conn.execute(text("INSERT INTO api_keys (name, key_hash, mask, status, created_at, updated_at) "
                              "VALUES ('old', 'h', 'sk-…old', 'active', 0, 0)"))  # fmt: skip
        assert migrate(engine) == STEPS[-1][0]
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        assert {"teams", "ledger", "model_prices", "spend_alerts"} <= tables
        assert {"media_tasks", "webhook_deliveries", "key_webhooks"} <= tables
        assert {"usage_hourly", "usage_daily", "admins", "admin_sessions", "audit_log"} <= tables
        [old] = list_keys(engine)
        assert old.name == "old" and old.budget_micros is None and old.team_id is None
    finally:
        engine.dispose()


def test_balance_changes_keep_an_audit_trail_with_versions(engine):
    create_team(engine, "acme", model_groups=["basic"], rpm=60)
    with pytest.raises(TeamError):
        create_team(engine, "acme")
    first = change_balance(engine, "acme", "topup", 12_500_000, "alice@host", "invoice 42")
    second = change_balance(engine, "acme", "adjust", -250_000, "bob@host", "typo")
    third = change_balance(engine, "acme", "refund", 1_000, "bob@host", "req_x failed")
    assert (first.balance_after, second.balance_after, third.balance_after) == (12_500_000, 12_250_000, 12_251_000)
    assert first.balance_version < second.balance_version < third.balance_version
    with pytest.raises(TeamError):
        change_balance(engine, "acme", "topup", -5, "x")
    team = get_team(engine, "acme")
    assert team.balance_micros == 12_251_000 and team.model_groups == ("basic",) and team.rpm == 60
    history = spend_report(engine, team.id, 0).history
    assert [(h["kind"], h["amount_micros"], h["actor"], h["note"]) for h in history] == [
        ("refund", 1_000, "bob@host", "req_x failed"),
        ("adjust", -250_000, "bob@host", "typo"),
        ("topup", 12_500_000, "alice@host", "invoice 42"),
    ]
    assert update_team(engine, "acme", model_groups=None, status="disabled").model_groups is None
    assert [t.status for t in list_teams(engine)] == ["disabled"]


def test_charges_are_written_once_however_often_a_batch_is_replayed(engine, store):
    team = create_team(engine, "acme")
    change_balance(engine, "acme", "topup", 1_000, "t")
    key, _ = create_key(engine, "k", options=KeyOptions(team_id=team.id))
    items = [
        Settlement(log_row("req_1", 100, key.id, team.id), charge("req_1", 100, key.id, team.id, "gpt")),
        Settlement(log_row("req_2", 30, key.id, team.id), charge("req_2", 30, key.id, team.id, "claude")),
        Settlement(log_row("req_3")),  # free: a log row, no charge
    ]
    committed = store(items)
    assert sorted(c.request_id for c in committed.charges) == ["req_1", "req_2"]
    balance, version = committed.balances[team.id]
    assert balance == 870
    again = store(items)  # a replayed journal or spill file
    assert again.charges == [] and again.balances == {}
    assert sorted(c.request_id for c in again.already) == ["req_1", "req_2"]  # told, so their holds end
    assert again.current == {team.id: (870, version)}
    assert get_team(engine, "acme").balance_micros == 870
    assert get_team(engine, "acme").balance_version == version
    assert count_logs(engine) == 3 and ledger_total(engine) == -130
    report = spend_report(engine, team.id, 0)
    assert report.total_micros == 130 and report.requests == 2
    assert report.by_model == [("gpt", 1, 100), ("claude", 1, 30)]
    assert report.by_key == [(f"k {key.mask}", 2, 130)]
    assert key_spend_since(engine, [key.id], 0) == {key.id: 130}
    assert key_spend_since(engine, [key.id], time.time() + 10) == {}


def test_teamless_charges_are_recorded_without_touching_a_balance(engine, store):
    key, _ = create_key(engine, "solo")
    committed = store([Settlement(log_row("req_s", 5, key.id), charge("req_s", 5, key.id, None))])
    assert len(committed.charges) == 1 and committed.balances == {}
    with engine.connect() as conn:
        assert conn.execute(select(teams)).all() == []


@pytest.mark.parametrize("writer", [True, False])
def test_balance_updates_from_two_connections_add_up(engine, writer):
    """Two instances committing batches for two teams at once (as their writers do, and in transactions of
    their own): no update is lost, and they never deadlock on the teams' rows."""
    import threading

    team = create_team(engine, "acme")
    other = create_team(engine, "other")
    key, _ = create_key(engine, "k", options=KeyOptions(team_id=team.id))

    def commit(prefix: str) -> None:
        batches = SettlementStore(engine)
        for i in range(20):
            items = [
                Settlement(log_row(f"req_{prefix}{i}{t}", 7, key.id, t), charge(f"req_{prefix}{i}{t}", 7, key.id, t))
                for t in (other.id, team.id)
            ]
            if writer:
                batches.store(items)
            else:
                with engine.begin() as conn:
                    write_settlements(conn, items)
        batches.close()

    threads = [threading.Thread(target=commit, args=(p,)) for p in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in ("acme", "other"):
        assert (get_team(engine, name).balance_micros, get_team(engine, name).balance_version) == (-280, 40)


def test_run_time_prices_override_and_clear(engine):
    before = prices_revision(engine)
    set_price(engine, "gpt-4.1-mini", PriceConfig(input=0.4, output=1.6), "ops@host")
    set_price(engine, "gpt-4.1-mini", PriceConfig(input=0.5, output=2), "ops@host")
    assert prices_revision(engine) != before
    assert list_prices(engine) == {"gpt-4.1-mini": PriceConfig(input=0.5, output=2)}
    assert clear_price(engine, "gpt-4.1-mini") and not clear_price(engine, "gpt-4.1-mini")
    assert list_prices(engine) == {}


def test_a_charge_for_a_team_that_is_gone_does_not_block_the_batch(engine, store):
    committed = store([Settlement(log_row("req_g", 9, 1, 404), charge("req_g", 9, 1, 404))])
    assert len(committed.charges) == 1 and committed.balances == {}
    assert count_logs(engine) == 1 and ledger_total(engine) == -9


def test_a_batch_mixing_stored_and_new_charges_applies_only_the_new(engine, store):
    team = create_team(engine, "acme")
    first = Settlement(log_row("req_a", 10, 1, team.id), charge("req_a", 10, 1, team.id))
    second = Settlement(log_row("req_b", 5, 1, team.id), charge("req_b", 5, 1, team.id))
    store([first])
    committed = store([first, second])
    assert [c.request_id for c in committed.charges] == ["req_b"]
    assert [c.request_id for c in committed.already] == ["req_a"]
    assert committed.balances == {team.id: (-15, 2)}
    assert get_team(engine, "acme").balance_micros == -15 and count_logs(engine) == 2


def test_every_column_of_a_log_row_and_its_charge_reads_back_as_written(engine, store):
    """The writer hands the driver plain tuples (store/db.insert_many), bypassing SQLAlchemy's type
    processing: booleans, NULLs, floats and non-ASCII text must still land exactly, on every backend."""
    team = create_team(engine, "acme")
    key, _ = create_key(engine, "k", options=KeyOptions(team_id=team.id))
    row = log_row(
        "req_every", 16, key.id, team.id, created_at=1_767_000_000.123456, client_version="1.99.0",
        user_agent="OpenAI/Python 1.99.0 — ünïcode", model_requested="gpt-4.1-mini", model_routed="gpt-4.1-mini",
        channel="fake", status=200, error_code=None, error_message="a note, 'quoted'", stream=True,
        latency_ms=0.523, ttfb_ms=0.481, input_tokens=13, cached_tokens=2, cache_write_tokens=3, output_tokens=7,
        reasoning_tokens=5, price='{"input":0.4}', usage_estimated=True, config_hint="hint",
        attempts='[{"channel":"fake"}]', notes="dropped x", timings='{"total":0.52}',
    )  # fmt: skip
    free = log_row("req_free", stream=False, usage_estimated=False)  # False and NULLs beside the True above
    paid = charge("req_every", 16, key.id, team.id, "gpt-4.1-mini")
    store([Settlement(row, paid), Settlement(free)])
    with engine.connect() as conn:
        stored = {r.request_id: dict(r._mapping) for r in conn.execute(select(request_logs))}
        charged = conn.execute(select(ledger).where(ledger.c.entry_id == paid.entry_id)).one()._mapping
    assert stored == {r.request_id: msgspec.structs.asdict(r) for r in (row, free)}
    assert {name: charged[name] for name in msgspec.structs.asdict(paid)} == msgspec.structs.asdict(paid)
