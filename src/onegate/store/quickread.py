"""Start-up's reads on SQLite with the stdlib's sqlite3, so `onegate serve` answers before SQLAlchemy is
imported (store/deferred.py says why): the schema's version, and the keys, teams and prices the hot path keeps
in memory, as the same records and revisions store/keys.py, teams.py and prices.py give.

Only for a SQLite database that exists and is at the latest schema version; anything else (PostgreSQL, a
first start, a database to migrate) goes the SQLAlchemy way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec

from onegate.apikeys import KeyRecord
from onegate.settings import PriceConfig
from onegate.store.rows import TeamRecord, key_record, team_record

# The last version of store/migrations.py's STEPS (which checks that it is).
SCHEMA_VERSION = 7

Revision = tuple[float, int]


@dataclass(frozen=True, slots=True)
class Snapshot:
    keys: list[KeyRecord]
    keys_revision: Revision
    teams: list[TeamRecord]
    teams_revision: Revision
    prices: dict[str, PriceConfig]
    prices_revision: Revision


def sqlite_path(database_url: str) -> Path | None:
    """The file of a plain `sqlite:///PATH` URL; None for anything else (other drivers, options, memory)."""
    scheme, sep, path = database_url.partition(":///")
    if scheme != "sqlite" or not sep or not path or "?" in path or path == ":memory:":
        return None
    return Path(path)


@contextmanager
def current(database_url: str) -> Iterator[sqlite3.Connection | None]:
    """A connection to the database if it is a SQLite file at SCHEMA_VERSION, else None."""
    path = sqlite_path(database_url)
    if path is None or not path.is_file():
        yield None
        return
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        try:
            count, latest = conn.execute("SELECT count(*), max(version) FROM schema_migrations").fetchone()
        except sqlite3.DatabaseError:  # no such table yet, or not a database: the migrations say what is wrong
            yield None
            return
        yield conn if count == latest == SCHEMA_VERSION else None


def has_keys(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM api_keys LIMIT 1").fetchone() is not None


def read(database_url: str) -> Snapshot | None:
    """Keys, teams and prices with their revisions, in one read transaction; None: use SQLAlchemy."""
    with current(database_url) as conn:
        if conn is None:
            return None
        with conn:  # one snapshot of the three tables
            conn.execute("BEGIN")
            return Snapshot(
                keys=[key_record(r) for r in _rows(conn, "SELECT * FROM api_keys ORDER BY id")],
                keys_revision=_revision(conn, "api_keys"),
                teams=[team_record(r) for r in _rows(conn, "SELECT * FROM teams ORDER BY id")],
                teams_revision=_revision(conn, "teams"),
                prices={
                    model: msgspec.json.decode(price, type=PriceConfig)
                    for model, price in conn.execute("SELECT model, price FROM model_prices")
                },
                prices_revision=_revision(conn, "model_prices"),
            )


def _rows(conn: sqlite3.Connection, sql: str) -> Iterator[Any]:
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield SimpleNamespace(**dict(zip(names, row, strict=True)))


def _revision(conn: sqlite3.Connection, table: str) -> Revision:
    """As `keys_revision`, `teams_revision`, `prices_revision`: (latest updated_at or 0.0, row count)."""
    latest, count = conn.execute(f"SELECT max(updated_at), count(*) FROM {table}").fetchone()
    return (latest or 0.0, count)
