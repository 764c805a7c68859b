"""Engines: SQLite (a file in the data directory, WAL) by default, PostgreSQL when configured."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from onegate.store.private import private_dir, private_file


def open_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            _private_sqlite(Path(url.database))
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    # No server-side prepared statements (psycopg prepares a query on its 5th run on a connection): behind
    # a transaction-mode pooler (PgBouncer) the next transaction may run on another server connection,
    # where the statement does not exist. Nothing else here keeps session state (advisory locks are per
    # transaction), so the store works through such a pooler.
    connect_args = {"prepare_threshold": None} if url.get_driver_name() == "psycopg" else {}
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=connect_args)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for a batch of writes, savepoints included. pysqlite opens its own transaction only at
    the first INSERT or UPDATE, so a SAVEPOINT issued before that starts SQLite's transaction itself and its
    RELEASE commits it: the rest of the batch would land in a second transaction. `BEGIN IMMEDIATE` up front
    makes the batch one transaction, and takes the write lock at once (waiting up to busy_timeout) rather
    than failing to upgrade a read lock when another process wrote meanwhile."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


def insert_many(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert `rows` (tuples in `columns` order) with the driver's executemany. The writer's batches go through
    this, not a compiled `table.insert()` with dicts: SQLAlchemy then processes every value of every row in
    Python first (about 20 µs a log row on SQLite), one long stretch holding the GIL the event loop waits for;
    tuples go to the driver untouched (bench/writer_cost.py). PostgreSQL: COPY (`_copy_in`); arrays through
    `unnest` cost more there (psycopg dumps text arrays element by element in Python)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy_in(conn, table, columns, rows)
        return
    conn.exec_driver_sql(_values_insert(conn.dialect.name, table, columns), rows)


def _copy_in(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: `COPY … FROM STDIN`, the rows written by psycopg's C code in one stream. executemany sends
    a statement a row, about 4× the writer's CPU per row (bench/writer_cost.py with WRITER_COST_POSTGRES).
    In the connection's transaction, so the caller's savepoint still undoes it; a duplicate key is raised as
    SQLAlchemy's IntegrityError, as an INSERT's would be. COPY keeps no session state: fine behind PgBouncer."""
    import psycopg  # only with PostgreSQL, whose driver it is

    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor() as cursor, cursor.copy(_copy_statement(table, columns)) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.IntegrityError as exc:
        raise IntegrityError(f"COPY {table}", None, exc) from exc


@cache
def _copy_statement(table: str, columns: tuple[str, ...]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN"


@cache
def _values_insert(dialect: str, table: str, columns: tuple[str, ...]) -> str:
    mark = "?" if dialect == "sqlite" else "%s"  # pysqlite: qmark; psycopg: format
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def _private_sqlite(database: Path) -> None:
    """The database file exists 0600 before SQLite opens it: SQLite gives its -wal, -shm and -journal
    files the database file's own mode, so they are 0600 too, whatever the umask."""
    private_dir(database.parent)
    private_file(database)
    for suffix in ("-wal", "-shm", "-journal"):
        sibling = database.with_name(database.name + suffix)
        if sibling.exists():
            private_file(sibling)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:  # DB-API objects are untyped
    cursor = dbapi_connection.cursor()
    # WAL lets the CLI read and write while the server writes logs; NORMAL is durable across process
    # crashes (only a power loss can drop the last commits).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Each log batch touches a page of every log index and rollup: checkpoint the WAL every 128 pages (512 KB)
    # and cut it back to that size, so the WAL stays small however many small batches arrive.
    cursor.execute("PRAGMA wal_autocheckpoint=128")
    cursor.execute("PRAGMA journal_size_limit=524288")
    cursor.close()
