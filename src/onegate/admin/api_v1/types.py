"""Request and response shapes of the management API that are not the service layer's own."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from onegate.manage.balance import KeyBalance
from onegate.manage.keys import KeyView
from onegate.setup.guides import Guide

Id = Annotated[int, Meta(ge=1, le=2**31 - 1)]
Epoch = Annotated[float, Meta(ge=0, le=1e11)]


class ErrorDetail(msgspec.Struct, kw_only=True):
    message: str
    type: str
    code: str
    param: str | None = None
    request_id: str | None = None


class ErrorBody(msgspec.Struct, kw_only=True):
    error: ErrorDetail


class SignIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: Annotated[str, Meta(min_length=1, max_length=500)]  # an admin token, ONEGATE_ADMIN_TOKEN or an sk-og- key


class SessionInfo(msgspec.Struct, kw_only=True):
    role: str
    name: str  # as the audit trail names the actor (`key:12` for a key holder)
    shown_name: str  # for people: a key holder's key name and masked key, `ci (sk-…abcd)`
    team_id: int | None
    key_id: int | None
    can_topup: bool
    csrf_token: str | None  # send as X-CSRF-Token on state-changing requests made with the cookie
    expires_at: float | None
    currency: str


class SignedOut(msgspec.Struct, kw_only=True):
    signed_out: bool


class Deleted(msgspec.Struct, kw_only=True):
    deleted: bool
    id: str


class NewKey(msgspec.Struct, kw_only=True):
    key: KeyView
    secret: str  # shown this once; only its hash is stored
    base_url: str  # for OpenAI-style clients
    setup: list[Guide]  # per client: the exact fields, files and a one-line test


class MyKey(msgspec.Struct, kw_only=True):
    balance: KeyBalance
    base_url: str
    currency: str


class RotateIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    grace_seconds: Annotated[float, Meta(ge=0, le=90 * 86400)] = 86400.0


class RangeQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    since: Epoch | None = None
    until: Epoch | None = None


class PageQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    cursor: Annotated[str, Meta(max_length=200)] | None = None
    limit: Annotated[int, Meta(ge=1, le=200)] = 50


class AuditQuery(PageQuery, kw_only=True, forbid_unknown_fields=True):
    team_id: Annotated[int, Meta(ge=1, le=2**31 - 1)] | None = None  # one team's entries


class KeysQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    q: Annotated[str, Meta(max_length=200)] | None = None  # name substring or last four characters
    team_id: Id | None = None
    status: str | None = None
    cursor: Annotated[str, Meta(max_length=20)] | None = None
    limit: Annotated[int, Meta(ge=1, le=200)] = 50


class SetupQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    key_id: Id | None = None
    lang: str | None = None  # en | zh; default from Accept-Language


class LimitQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    limit: Annotated[int, Meta(ge=1, le=500)] = 50


Json = dict[str, Any]
