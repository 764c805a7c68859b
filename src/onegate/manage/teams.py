"""Teams: create, list, show (balance, spend by model and key over a range, balance history), change limits
and model groups, and move money (top-up, adjust, refund) with a note."""

from __future__ import annotations

import time

import msgspec
from sqlalchemy import Engine, select

from onegate.accounting.money import format_amount, parse_amount
from onegate.manage import audit
from onegate.manage.actor import Actor, ManageError, forbidden, invalid, not_found, require_write, team_visible
from onegate.manage.types import Amount, Limit, Name, Note, Text
from onegate.store.ledger import spend_report
from onegate.store.schema import teams
from onegate.store.teams import (
    MANUAL_KINDS,
    TeamError,
    TeamRecord,
    change_balance_in,
    create_team_in,
    team_by_id,
    update_team_in,
)


class TeamView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    status: str
    balance_micros: int
    balance: str  # currency units, e.g. "12.50"
    model_groups: list[str] | None  # None: every model
    rpm: int | None
    tpm: int | None
    concurrent: int | None


class SpendLine(msgspec.Struct, kw_only=True):
    name: str
    requests: int
    spent_micros: int


class BalanceEntry(msgspec.Struct, kw_only=True):
    entry_id: str
    kind: str
    amount_micros: int
    balance_after: int | None
    actor: str | None
    note: str | None
    created_at: float


class TeamDetail(msgspec.Struct, kw_only=True):
    team: TeamView
    since: float
    until: float | None
    spent_micros: int
    requests: int
    by_model: list[SpendLine]
    by_key: list[SpendLine]
    history: list[BalanceEntry]  # top-ups, adjustments, refunds, newest first


class TeamCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    model_groups: list[Name] | None = None
    rpm: Limit | None = None
    tpm: Limit | None = None
    concurrent: Limit | None = None


class TeamUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change; `clear` sets model_groups (every model) or a limit back to the default."""

    status: Text | None = None  # active | disabled
    model_groups: list[Name] | None = None
    rpm: Limit | None = None
    tpm: Limit | None = None
    concurrent: Limit | None = None
    clear: list[Text] = msgspec.field(default_factory=list)


class BalanceChangeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    kind: Text  # topup | adjust | refund
    amount: Amount  # currency units; signed for an adjust ("-3")
    note: Note | None = None


class BalanceChanged(msgspec.Struct, kw_only=True):
    entry_id: str
    kind: str
    amount_micros: int
    balance_micros: int
    team: TeamView


def view(t: TeamRecord) -> TeamView:
    return TeamView(
        id=t.id,
        name=t.name,
        status=t.status,
        balance_micros=t.balance_micros,
        balance=format_amount(t.balance_micros),
        model_groups=list(t.model_groups) if t.model_groups is not None else None,
        rpm=t.rpm,
        tpm=t.tpm,
        concurrent=t.concurrent,
    )


def _check_groups(groups: list[str] | None, known: set[str]) -> None:
    unknown = sorted(set(groups or ()) - known)
    if unknown:
        raise invalid(f"unknown model groups: {', '.join(unknown)} (known: {', '.join(sorted(known)) or 'none'})")


def _limits(*values: int | None) -> None:
    if any(v is not None and v < 1 for v in values):
        raise invalid("limits must be at least 1 (clear a limit to go back to the default)")


def list_teams(engine: Engine, actor: Actor) -> list[TeamView]:
    """Every team an actor may see (a team admin: theirs). Teams are few; keys are paginated instead."""
    if actor.role == "key":
        raise forbidden("a key holder sees their own key, not teams")
    stmt = select(teams).order_by(teams.c.id)
    if not actor.reads_all:
        stmt = stmt.where(teams.c.id == actor.team_id)
    with engine.connect() as conn:
        records = [team_by_id(conn, r.id) for r in conn.execute(stmt)]
    return [view(t) for t in records if t is not None]


def _visible(engine: Engine, actor: Actor, team_id: int) -> TeamRecord:
    with engine.connect() as conn:
        record = team_by_id(conn, team_id)
    if record is None or not team_visible(actor, team_id):
        raise not_found(f"no team with id {team_id}")
    return record


def show_team(
    engine: Engine, actor: Actor, team_id: int, since: float | None = None, until: float | None = None
) -> TeamDetail:
    record = _visible(engine, actor, team_id)
    since = time.time() - 30 * 86400 if since is None else since
    report = spend_report(engine, team_id, since, until=until)
    return TeamDetail(
        team=view(record),
        since=since,
        until=until,
        spent_micros=report.total_micros,
        requests=report.requests,
        by_model=[SpendLine(name=n, requests=c, spent_micros=m) for n, c, m in report.by_model],
        by_key=[SpendLine(name=n, requests=c, spent_micros=m) for n, c, m in report.by_key],
        history=[
            BalanceEntry(
                entry_id=h["entry_id"],
                kind=h["kind"],
                amount_micros=h["amount_micros"],
                balance_after=h["balance_after"],
                actor=h["actor"],
                note=h["note"],
                created_at=h["created_at"],
            )
            for h in report.history
        ],
    )


def create_team(engine: Engine, actor: Actor, spec: TeamCreate, known_groups: set[str]) -> TeamView:
    require_write(actor)
    if not spec.name.strip():
        raise invalid("a team needs a name")
    _check_groups(spec.model_groups, known_groups)
    _limits(spec.rpm, spec.tpm, spec.concurrent)
    try:
        with engine.begin() as conn:
            record = create_team_in(conn, spec.name.strip(), spec.model_groups, spec.rpm, spec.tpm, spec.concurrent)
            created = view(record)
            audit.record(conn, actor, "teams.create", f"team:{record.id}", team_id=record.id, after=created)
    except TeamError as exc:
        raise ManageError("conflict", str(exc)) from None
    return created


_CLEARABLE = {"model_groups", "rpm", "tpm", "concurrent"}


def update_team(engine: Engine, actor: Actor, team_id: int, spec: TeamUpdate, known_groups: set[str]) -> TeamView:
    before = _visible(engine, actor, team_id)
    require_write(actor)
    unknown = set(spec.clear) - _CLEARABLE
    if unknown:
        raise invalid(f"cannot clear {', '.join(sorted(unknown))}; clearable: {', '.join(sorted(_CLEARABLE))}")
    changes: dict[str, object] = {}
    if spec.status is not None:
        if spec.status not in ("active", "disabled"):
            raise invalid("status must be active or disabled")
        changes["status"] = spec.status
    if spec.model_groups is not None:
        _check_groups(spec.model_groups, known_groups)
        changes["model_groups"] = spec.model_groups
    _limits(spec.rpm, spec.tpm, spec.concurrent)
    for field in ("rpm", "tpm", "concurrent"):
        if getattr(spec, field) is not None:
            changes[field] = getattr(spec, field)
    for field in spec.clear:
        changes[field] = None
    if not changes:
        raise invalid("nothing to change")
    with engine.begin() as conn:
        after = update_team_in(conn, before.name, **changes)
        audit.record(
            conn, actor, "teams.update", f"team:{team_id}", team_id=team_id, before=view(before), after=view(after)
        )
    return view(after)


def change_balance(engine: Engine, actor: Actor, team_id: int, spec: BalanceChangeIn) -> BalanceChanged:
    record = _visible(engine, actor, team_id)
    if not (actor.writes_all or (actor.role == "team_admin" and actor.can_topup)):
        raise forbidden(f"the {actor.role} role may not change balances (a team admin needs the top-up grant)")
    if spec.kind not in MANUAL_KINDS:
        raise invalid(f"kind must be one of {', '.join(MANUAL_KINDS)}")
    try:
        micros = parse_amount(spec.amount)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    try:
        with engine.begin() as conn:
            change = change_balance_in(conn, record.name, spec.kind, micros, actor.name, spec.note)
            after = team_by_id(conn, team_id)
            assert after is not None
            audit.record(
                conn,
                actor,
                f"teams.{spec.kind}",
                f"team:{team_id}",
                team_id=team_id,
                before={"balance_micros": record.balance_micros},
                after={
                    "balance_micros": change.balance_after,
                    "amount_micros": micros,
                    "note": spec.note,
                    "entry_id": change.entry_id,
                },
            )
    except TeamError as exc:
        raise invalid(str(exc)) from None
    return BalanceChanged(
        entry_id=change.entry_id,
        kind=spec.kind,
        amount_micros=micros,
        balance_micros=change.balance_after,
        team=view(after),
    )


def resolve(engine: Engine, id_or_name: str) -> int:
    """A team id from an id or a name (the CLI's argument)."""
    with engine.connect() as conn:
        row = conn.execute(select(teams.c.id).where(teams.c.name == id_or_name)).first()
    if row is not None:
        return int(row[0])
    if id_or_name.isdigit():
        return int(id_or_name)
    raise not_found(f"no team named {id_or_name!r}")
