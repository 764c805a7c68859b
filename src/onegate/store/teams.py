"""Teams in the database: create, change limits, and move money with an audit trail.

Every change of a balance is a ledger row written in the same transaction as the balance itself, and
bumps `balance_version`, so a cached copy of the balance is only ever replaced by a newer one.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, Engine, bindparam, func, select

from onegate.store.rows import TeamRecord as TeamRecord
from onegate.store.rows import team_record as _record
from onegate.store.schema import ledger, teams

MANUAL_KINDS = ("topup", "adjust", "refund")


class TeamError(LookupError):
    """No such team, a duplicate name, or a change that would make no sense (a negative top-up)."""


@dataclass(frozen=True, slots=True)
class BalanceChange:
    entry_id: str
    team: str
    kind: str
    amount_micros: int
    balance_after: int
    balance_version: int


def create_team(
    engine: Engine,
    name: str,
    model_groups: list[str] | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
    concurrent: int | None = None,
) -> TeamRecord:
    with engine.begin() as conn:
        return create_team_in(conn, name, model_groups, rpm, tpm, concurrent)


def create_team_in(
    conn: Connection,
    name: str,
    model_groups: list[str] | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
    concurrent: int | None = None,
) -> TeamRecord:
    now = time.time()
    if conn.execute(select(teams.c.id).where(teams.c.name == name)).first():
        raise TeamError(f"a team named {name!r} already exists")
    conn.execute(
        teams.insert().values(
            name=name,
            status="active",
            balance_micros=0,
            balance_version=0,
            model_groups=orjson.dumps(model_groups).decode() if model_groups is not None else None,
            rpm=rpm,
            tpm=tpm,
            concurrent=concurrent,
            created_at=now,
            updated_at=now,
        )
    )
    return _team(conn, name)


def _team(conn: Connection, name: str) -> TeamRecord:
    row = conn.execute(select(teams).where(teams.c.name == name)).first()
    if row is None:
        raise TeamError(f"no team named {name!r}")
    return _record(row)


def team_by_id(conn: Connection, team_id: int) -> TeamRecord | None:
    row = conn.execute(select(teams).where(teams.c.id == team_id)).first()
    return _record(row) if row else None


def get_team(engine: Engine, name: str) -> TeamRecord:
    with engine.connect() as conn:
        return _team(conn, name)


def list_teams(engine: Engine) -> list[TeamRecord]:
    with engine.connect() as conn:
        return [_record(r) for r in conn.execute(select(teams).order_by(teams.c.id))]


def update_team(engine: Engine, name: str, **changes: object) -> TeamRecord:
    """Change a team's status, model groups or limits (only the given fields)."""
    with engine.begin() as conn:
        return update_team_in(conn, name, **changes)


def update_team_in(conn: Connection, name: str, **changes: object) -> TeamRecord:
    allowed = {"status", "model_groups", "rpm", "tpm", "concurrent"}
    unknown = set(changes) - allowed
    if unknown:
        raise TeamError(f"cannot change {', '.join(sorted(unknown))}")
    if "model_groups" in changes and changes["model_groups"] is not None:
        changes["model_groups"] = orjson.dumps(changes["model_groups"]).decode()
    team = _team(conn, name)
    conn.execute(teams.update().where(teams.c.id == team.id).values(**changes, updated_at=time.time()))
    return _team(conn, name)


def change_balance(
    engine: Engine, name: str, kind: str, amount_micros: int, actor: str, note: str | None = None
) -> BalanceChange:
    """A top-up, adjustment or refund: one ledger row and the balance, in one transaction."""
    with engine.begin() as conn:
        return change_balance_in(conn, name, kind, amount_micros, actor, note)


def change_balance_in(
    conn: Connection, name: str, kind: str, amount_micros: int, actor: str, note: str | None = None
) -> BalanceChange:
    if kind not in MANUAL_KINDS:
        raise TeamError(f"unknown balance change {kind!r}; expected one of {', '.join(MANUAL_KINDS)}")
    if kind in ("topup", "refund") and amount_micros <= 0:
        raise TeamError(f"a {kind} must be a positive amount")
    entry_id = f"{kind}_{secrets.token_hex(10)}"
    now = time.time()
    team = _team(conn, name)
    balance, version = apply_balance_delta(conn, team.id, amount_micros, now) or (0, 0)
    conn.execute(
        ledger.insert().values(
            entry_id=entry_id,
            kind=kind,
            team_id=team.id,
            amount_micros=amount_micros,
            balance_after=balance,
            actor=actor,
            note=note,
            created_at=now,
        )
    )
    return BalanceChange(entry_id, name, kind, amount_micros, balance, version)


# Built once: building it per call (coercions, cache key) cost the writer thread more Python, holding the GIL,
# than executing it (bench/writer_cost.py with WRITER_COST_CHARGES=1)
_BALANCE_DELTA = (
    teams.update()
    .where(teams.c.id == bindparam("team"))
    .values(
        balance_micros=teams.c.balance_micros + bindparam("delta"),
        balance_version=teams.c.balance_version + 1,
        updated_at=bindparam("now"),
    )
    .returning(teams.c.balance_micros, teams.c.balance_version)
)


def apply_balance_delta(conn: Connection, team_id: int, delta: int, now: float) -> tuple[int, int] | None:
    """Add `delta` to a team's balance; returns (balance, version) after it, None if there is no such team."""
    row = conn.execute(_BALANCE_DELTA, {"team": team_id, "delta": delta, "now": now}).first()
    return (int(row[0]), int(row[1])) if row else None


def team_balance(conn: Connection, team_id: int) -> tuple[int, int] | None:
    """A team's (balance, version) as the database has it, None if there is no such team."""
    row = conn.execute(select(teams.c.balance_micros, teams.c.balance_version).where(teams.c.id == team_id)).first()
    return (int(row[0]), int(row[1])) if row else None


def teams_revision(engine: Engine) -> tuple[float, int]:
    """Changes whenever a team is created or changed, its balance included."""
    with engine.connect() as conn:
        latest, count = conn.execute(select(func.max(teams.c.updated_at), func.count()).select_from(teams)).one()
    return (latest or 0.0, count)
