"""Virtual keys in the database. Only hashes are stored; the plain key is returned once, at creation."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import orjson
from sqlalchemy import Connection, Engine, Row, func, or_, select

from onegate.apikeys import KeyRecord, generate_key, hash_key, mask_key
from onegate.store.rows import key_record as _record
from onegate.store.schema import api_keys


class KeyNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class KeyOptions:
    """What a key may do beyond its models: team, budget, own rate limits."""

    team_id: int | None = None
    budget_micros: int | None = None
    budget_period: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    concurrent: int | None = None


def create_key(
    engine: Engine,
    name: str,
    models: list[str] | None = None,
    expires_at: float | None = None,
    team_id: int | None = None,
    options: KeyOptions | None = None,
) -> tuple[KeyRecord, str]:
    """Create a key; returns its record and the plain key, which is never stored."""
    with engine.begin() as conn:
        return insert_key(conn, name, models, expires_at, options or KeyOptions(team_id=team_id))


def insert_key(
    conn: Connection, name: str, models: list[str] | None, expires_at: float | None, options: KeyOptions
) -> tuple[KeyRecord, str]:
    plain = generate_key()
    now = time.time()
    values = {
        "name": name,
        "key_hash": hash_key(plain),
        "mask": mask_key(plain),
        "status": "active",
        "models": orjson.dumps(models).decode() if models else None,
        "expires_at": expires_at,
        "created_at": now,
        "updated_at": now,
        **asdict(options),
    }
    key_id = conn.execute(api_keys.insert().values(**values).returning(api_keys.c.id)).scalar_one()
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
    return _record(row), plain


def get_key(conn: Connection, key_id: int) -> KeyRecord | None:
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    return _record(row) if row else None


def update_key(conn: Connection, key_id: int, changes: dict[str, object]) -> KeyRecord:
    """Change the given columns (models as a list or None); returns the record after."""
    if "models" in changes:
        models = changes["models"]
        changes["models"] = orjson.dumps(models).decode() if models else None
    conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(**changes, updated_at=time.time()))
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
    return _record(row)


def delete_key(conn: Connection, key_id: int) -> None:
    conn.execute(api_keys.delete().where(api_keys.c.id == key_id))


def search_keys(
    conn: Connection,
    *,
    query: str | None = None,
    team_id: int | None = None,
    key_id: int | None = None,
    status: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[KeyRecord]:
    """A page of keys by id: by name (substring) or last four characters, team, status; never all at once."""
    c = api_keys.c
    stmt = select(api_keys).order_by(c.id).limit(limit)
    if query:
        tail = query.strip()[-4:]  # `sk-…abcd` or `abcd`: the last four characters a person can read out
        stmt = stmt.where(or_(c.name.contains(query, autoescape=True), c.mask.endswith(tail, autoescape=True)))
    for column, value in ((c.team_id, team_id), (c.id, key_id), (c.status, status)):
        if value is not None:
            stmt = stmt.where(column == value)
    if after_id is not None:
        stmt = stmt.where(c.id > after_id)
    return [_record(r) for r in conn.execute(stmt)]


def list_keys(engine: Engine) -> list[KeyRecord]:
    with engine.connect() as conn:
        return [_record(r) for r in conn.execute(select(api_keys).order_by(api_keys.c.id))]


def find_key_by_hash(engine: Engine, key_hash: str) -> KeyRecord | None:
    with engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash)).first()
    return _record(row) if row else None


def _one_key(conn: Connection, id_or_name: str) -> Row:
    where = api_keys.c.name == id_or_name
    if id_or_name.isdigit():
        where = or_(api_keys.c.id == int(id_or_name), where)
    rows = conn.execute(select(api_keys).where(where)).all()
    if len(rows) != 1:
        raise KeyNotFound(
            f"no key with id or name {id_or_name!r}"
            if not rows
            else f"{len(rows)} keys are named {id_or_name!r}; use the id"
        )
    return rows[0]


def find_key(engine: Engine, id_or_name: str) -> KeyRecord:
    """A key by numeric id or by name."""
    with engine.connect() as conn:
        return _record(_one_key(conn, id_or_name))


def set_key_status(engine: Engine, id_or_name: str, status: str) -> KeyRecord:
    """Enable or disable a key by numeric id or by name."""
    with engine.begin() as conn:
        rows = [_one_key(conn, id_or_name)]
        conn.execute(api_keys.update().where(api_keys.c.id == rows[0].id).values(status=status, updated_at=time.time()))
        row = conn.execute(select(api_keys).where(api_keys.c.id == rows[0].id)).one()
    return _record(row)


def keys_revision(engine: Engine) -> tuple[float, int]:
    """A cheap fingerprint of the keys table; it changes whenever a key is created or updated."""
    with engine.connect() as conn:
        latest, count = conn.execute(select(func.max(api_keys.c.updated_at), func.count())).one()
    return (latest or 0.0, count)
