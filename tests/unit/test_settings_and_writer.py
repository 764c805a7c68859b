"""Config validation, and the log writer's promise: rows survive a database that refuses them."""

from __future__ import annotations

import pytest
import yaml

from onegate.settings import ConfigError, load_settings
from onegate.store.db import open_engine
from onegate.store.migrations import migrate
from onegate.store.writer import LogWriter
from tests.records import count_logs, log_row


def _write(tmp_path, config):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_config_errors_name_the_field(tmp_path):
    path = _write(tmp_path, {"channels": [{"name": "x", "type": "nope", "base_url": "http://h"}]})
    with pytest.raises(ConfigError, match=r"channels\.0\.type"):
        load_settings(data_dir=tmp_path, config_path=path)


def test_config_refuses_a_secret_in_place_of_an_env_var_name(tmp_path):
    path = _write(tmp_path, {"channels": [{"name": "x", "base_url": "http://h", "api_key_env": "sk-live-123"}]})
    with pytest.raises(ConfigError, match="environment variable"):
        load_settings(data_dir=tmp_path, config_path=path)


def test_config_refuses_duplicate_channel_names(tmp_path):
    channel = {"name": "x", "base_url": "http://h"}
    with pytest.raises(ConfigError, match="unique"):
        load_settings(data_dir=tmp_path, config_path=_write(tmp_path, {"channels": [channel, channel]}))


def test_defaults_use_sqlite_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("ONEGATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ONEGATE_CONFIG", raising=False)
    settings = load_settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'onegate.db'}"
    assert settings.base_url == "http://127.0.0.1:8080/api/v1"
    assert settings.max_body_bytes == 32 * 1024 * 1024


def test_writer_spills_when_the_database_fails_and_replays_later(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")  # no schema yet: every insert fails
    spill = tmp_path / "spill.jsonl"
    writer = LogWriter(engine, spill, interval=0.01)
    writer.start()
    for i in range(5):
        writer.submit(log_row(f"req_{i}"))
    writer.close()
    assert writer.stats.spilled == 5 and spill.exists()

    migrate(engine)
    again = LogWriter(engine, spill, interval=0.01)
    again.start()  # replays the spill file first
    again.submit(log_row("req_99"))
    again.close()
    assert count_logs(engine) == 6 and not spill.exists()


def test_writer_spills_instead_of_blocking_when_the_queue_is_full(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    writer = LogWriter(engine, tmp_path / "spill.jsonl", max_queue=2)  # not started: nothing drains
    for i in range(5):
        writer.submit(log_row(f"req_{i}"))
    assert writer.stats.spilled == 3
    writer.start()
    writer.close()
    assert count_logs(engine) == 5


def test_migrations_bring_an_older_database_up_to_date(tmp_path):
    from sqlalchemy import inspect, text

    engine = open_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    migrate(engine)
    with engine.begin() as conn:  # make it look like a version-1 database
        conn.execute(text("ALTER TABLE request_logs DROP COLUMN notes"))
        conn.execute(text("DELETE FROM schema_migrations WHERE version > 1"))
    assert migrate(engine) >= 2
    assert "notes" in {c["name"] for c in inspect(engine).get_columns("request_logs")}
    assert migrate(engine) >= 2  # idempotent
