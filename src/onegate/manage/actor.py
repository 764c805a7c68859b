"""Who is asking, and what each role may do. Object-level scoping (a team admin's team, a key holder's key)
is decided here so no caller can forget it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["owner", "operator", "viewer", "team_admin", "key"]
ROLES: tuple[Role, ...] = ("owner", "operator", "viewer", "team_admin", "key")
ADMIN_ROLES = ("owner", "operator", "viewer", "team_admin")  # roles an admin account can have
READ_ALL = frozenset({"owner", "operator", "viewer"})
WRITE_ALL = frozenset({"owner", "operator"})


class ManageError(Exception):
    """A refusal a caller shows as it is: `kind` is forbidden | not_found | invalid | conflict."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def forbidden(message: str) -> ManageError:
    return ManageError("forbidden", message)


def not_found(message: str) -> ManageError:
    return ManageError("not_found", message)


def invalid(message: str) -> ManageError:
    return ManageError("invalid", message)


@dataclass(frozen=True, slots=True)
class Actor:
    role: Role
    name: str  # for the audit trail: an admin's name, `key:12`, `bootstrap`, `user@host` (CLI)
    team_id: int | None = None  # team_admin: their team
    key_id: int | None = None  # key holder: their key
    can_topup: bool = False  # team_admin: may move money
    admin_id: int | None = None

    @property
    def reads_all(self) -> bool:
        return self.role in READ_ALL

    @property
    def writes_all(self) -> bool:
        return self.role in WRITE_ALL


def cli_actor(name: str) -> Actor:
    """Whoever runs the CLI on the server has the database: an owner."""
    return Actor("owner", name)


def require(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise forbidden(f"the {actor.role} role may not do this (needs {' or '.join(roles)})")


def require_write(actor: Actor) -> None:
    if not actor.writes_all:
        raise forbidden(f"the {actor.role} role may not change this")


def team_visible(actor: Actor, team_id: int | None) -> bool:
    return actor.reads_all or (actor.role == "team_admin" and team_id is not None and team_id == actor.team_id)


def key_visible(actor: Actor, key_id: int, team_id: int | None) -> bool:
    if actor.role == "key":
        return key_id == actor.key_id
    return team_visible(actor, team_id)


def key_writable(actor: Actor, team_id: int | None) -> bool:
    return actor.writes_all or (actor.role == "team_admin" and team_id is not None and team_id == actor.team_id)


def forced_scope(actor: Actor, team_id: int | None, key_id: int | None) -> tuple[int | None, int | None]:
    """The (team, key) filter a list must use: what was asked, narrowed to what the actor may see.

    A team admin asking for another team, or a key holder for another key, gets a filter that matches
    nothing they cannot see (their own scope wins), never someone else's rows."""
    if actor.reads_all:
        return team_id, key_id
    if actor.role == "team_admin":
        if team_id is not None and team_id != actor.team_id:
            raise not_found(f"no team with id {team_id}")
        return actor.team_id if actor.team_id is not None else -1, key_id
    if key_id is not None and key_id != actor.key_id:
        raise not_found(f"no key with id {key_id}")
    if team_id is not None:
        raise forbidden("a key holder sees only their own key's data")
    return None, actor.key_id if actor.key_id is not None else -1
