"""Serving `/admin/api/v1/…`: match the route table, authenticate (bearer token or session cookie + CSRF),
check the role, decode the typed query and body, call the handler, encode the answer.

Sign-in failures and bad tokens are slowed per address by the same penalty as bad API keys, and logged."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, unquote

import msgspec

from onegate import errors
from onegate.admin.api_v1 import openapi
from onegate.admin.api_v1.deps import AdminDeps
from onegate.admin.api_v1.routes import ENDPOINTS, Call, Endpoint, Stream, session_info
from onegate.admin.api_v1.types import SignIn
from onegate.asgi import Receive, Responder, read_body
from onegate.context import RequestContext
from onegate.errors import GatewayError
from onegate.i18n.catalog import normalise_lang
from onegate.manage.actor import Actor, ManageError
from onegate.manage.admins import actor_for_token
from onegate.manage.sessions import close_session, csrf_for, open_session, session_actor, shown_name

log = logging.getLogger("onegate.admin")
PREFIX = "/admin/api/v1"
COOKIE = "onegate_session"
SAFE_METHODS = ("GET", "HEAD")
_ENCODER = msgspec.json.Encoder()
_KINDS = {
    "forbidden": errors.FORBIDDEN,
    "not_found": errors.NOT_FOUND,
    "invalid": errors.INVALID_REQUEST,
    "conflict": errors.CONFLICT,
}


def match(method: str, path: str) -> tuple[Endpoint | None, dict[str, Any], bool]:
    """(endpoint, path parameters, path known). Static segments win over parameters (`/logs/totals`)."""
    parts = path.removeprefix(PREFIX).strip("/").split("/")
    best: tuple[Endpoint | None, dict[str, Any]] = (None, {})
    known = False
    for endpoint in sorted(ENDPOINTS, key=lambda e: e.path.count("{")):
        template = endpoint.path.strip("/").split("/")
        if len(template) != len(parts):
            continue
        params: dict[str, Any] = {}
        for want, got in zip(template, parts, strict=True):
            if want.startswith("{"):
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            known = True
            if endpoint.method == method and best[0] is None:
                best = (endpoint, params)
    return best[0], best[1], known


def _path_params(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name == "id" or name.endswith("_id") and name != "request_id":
            if not value.isdigit() or not 0 < int(value) < 2**31:
                raise GatewayError(errors.NOT_FOUND, f"{value!r} is not an id")
            out[name] = int(value)
        else:
            out[name] = unquote(value)
    return out


def _cookie(headers: dict[str, str]) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _refuse(deps: AdminDeps, ctx: RequestContext, why: str) -> None:
    delay = deps.failures.record_failure(ctx.peer)
    log.warning("admin API: refused %s from %s (%s)", ctx.path.partition("?")[0], ctx.peer or "?", why)
    if delay:
        await asyncio.sleep(delay)


async def authenticate(deps: AdminDeps, ctx: RequestContext, method: str) -> tuple[Actor, str | None]:
    """(actor, session token when signed in by cookie)."""
    token = _bearer(ctx.headers)
    if token is not None:
        actor, _ = await asyncio.to_thread(actor_for_token, deps.engine, deps.settings.admin_token, token)
        if actor is None:
            await _refuse(deps, ctx, "unknown or disabled token")
            raise GatewayError(errors.ADMIN_AUTH_REQUIRED, "That token is not valid here (or it is disabled).")
        return actor, None
    session = _cookie(ctx.headers)
    if session is None:
        raise GatewayError(
            errors.ADMIN_AUTH_REQUIRED,
            "Sign in first: POST /admin/api/v1/session, or send Authorization: Bearer <admin token or sk-og- key>.",
            headers={"www-authenticate": "Bearer"},
        )
    actor = await asyncio.to_thread(session_actor, deps.engine, session, bool(deps.settings.admin_token))
    if actor is None:
        await _refuse(deps, ctx, "expired or unknown session")
        raise GatewayError(errors.ADMIN_AUTH_REQUIRED, "The session has expired or was signed out: sign in again.")
    if method not in SAFE_METHODS:
        sent = ctx.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode(), csrf_for(session).encode()):
            log.warning("admin API: CSRF token missing or wrong for %s %s from %s", method, ctx.path, ctx.peer)
            raise GatewayError(
                errors.FORBIDDEN,
                "A state-changing request with the session cookie needs the "
                "X-CSRF-Token header from sign-in (GET /admin/api/v1/session returns it).",
            )
    return actor, session


def _secure(deps: AdminDeps, ctx: RequestContext) -> bool:
    return deps.settings.public_root(ctx.headers).startswith("https://")


def _set_cookie(value: str, max_age: int, secure: bool) -> str:
    return f"{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")


async def sign_in(deps: AdminDeps, ctx: RequestContext, responder: Responder, body: bytes) -> None:
    spec = _decode(body, SignIn)
    actor, kind = await asyncio.to_thread(actor_for_token, deps.engine, deps.settings.admin_token, spec.token.strip())
    if actor is None:
        await _refuse(deps, ctx, f"sign-in failed ({kind})")
        raise GatewayError(errors.ADMIN_AUTH_REQUIRED, "Sign-in failed: that token or key is not valid here.")
    user_agent = ctx.headers.get("user-agent", "")
    token, csrf, expires = await asyncio.to_thread(open_session, deps.engine, actor, kind, ctx.peer, user_agent)
    log.info("admin API: %s (%s) signed in from %s", actor.name, actor.role, ctx.peer or "?")
    call = Call(deps, actor, {}, None, None, ctx.headers, ctx.peer, "en", token, expires)
    cookie = _set_cookie(token, int(expires - time.time()), _secure(deps, ctx))
    shown = await asyncio.to_thread(shown_name, deps.engine, actor)
    await responder.send_body(200, _ENCODER.encode(session_info(call, csrf, shown)), headers={"set-cookie": cookie})


def _decode(body: bytes, kind: type) -> Any:
    try:
        value: Any = msgspec.json.decode(body or b"{}", type=kind)
    except msgspec.ValidationError as exc:
        raise GatewayError(errors.INVALID_REQUEST, f"Invalid request body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise GatewayError(errors.INVALID_JSON, f"The request body is not valid JSON ({exc}).") from None
    if b"\\u0000" in body:  # JSON can carry a NUL only escaped: the walk runs only when one may be there
        try:
            _refuse_nul(msgspec.json.decode(body), "$", "request body")
        except RecursionError:
            raise GatewayError(errors.INVALID_REQUEST, "Invalid request body: nested too deeply.") from None
    return value


def _refuse_nul(value: Any, where: str, what: str) -> None:
    """A 400 for a NUL character anywhere in `value`: PostgreSQL's text refuses it (a 500 there), and on
    SQLite it would be stored to surprise whoever reads it later. No name, note or URL needs one."""
    if isinstance(value, str):
        if "\x00" in value:
            raise GatewayError(errors.INVALID_REQUEST, f"Invalid {what}: `{where}` contains a NUL character (\\u0000).")
    elif isinstance(value, dict):
        for name, item in value.items():
            _refuse_nul(name, where, what)
            _refuse_nul(item, f"{where}.{name}", what)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_nul(item, f"{where}[{i}]", what)


def _query(ctx: RequestContext, kind: type | None) -> Any:
    raw = ctx.path.partition("?")[2]
    pairs = dict(parse_qsl(raw, keep_blank_values=False))
    if kind is None:
        return None
    _refuse_nul(pairs, "query", "query parameter")
    try:
        return msgspec.convert(pairs, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise GatewayError(errors.INVALID_REQUEST, f"Invalid query parameter: {exc}") from None


def _lang(ctx: RequestContext) -> str:
    query = dict(parse_qsl(ctx.path.partition("?")[2]))
    return normalise_lang(query.get("lang") or ctx.headers.get("accept-language", ""))


async def serve(deps: AdminDeps, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    """The one entry point: `/admin/api/v1/…`, any method."""
    path = ctx.path.partition("?")[0].rstrip("/")
    method = ctx.method
    endpoint, raw_params, known = match(method, path)
    if endpoint is None:
        kind = errors.METHOD_NOT_ALLOWED if known else errors.NOT_FOUND
        raise GatewayError(kind, f"{method} {path} is not part of the management API (see {PREFIX}/openapi.json).")
    body = b""
    if method not in SAFE_METHODS and method != "DELETE":
        body = await read_body(receive, 1024 * 1024)
    if endpoint.path == "/openapi.json":
        await responder.send_body(200, openapi.document_bytes(deps.settings.public_root(ctx.headers)))
        return
    if endpoint.path == "/session" and method == "POST":
        await sign_in(deps, ctx, responder, body)
        return
    params = _path_params(raw_params)
    actor, session = await authenticate(deps, ctx, method)
    assert endpoint.roles is not None
    if actor.role not in endpoint.roles:
        raise GatewayError(errors.FORBIDDEN, f"The {actor.role} role may not call {method} {endpoint.path}.")
    call = Call(
        deps,
        actor,
        params,
        _query(ctx, endpoint.query),
        _decode(body, endpoint.body) if endpoint.body else None,
        ctx.headers,
        ctx.peer,
        _lang(ctx),
        session,
        None,
    )
    try:
        result = await endpoint.handler(call)
    except ManageError as exc:
        raise GatewayError(_KINDS.get(exc.kind, errors.INVALID_REQUEST), exc.message) from None
    if isinstance(result, Stream):
        await _stream(responder, result)
        return
    headers: dict[str, str] = {}  # cache-control: no-store comes with every admin answer (app.py)
    if endpoint.path == "/session" and method == "DELETE":
        headers["set-cookie"] = _set_cookie("", 0, _secure(deps, ctx))
        if session:
            await asyncio.to_thread(close_session, deps.engine, session)
    await responder.send_body(endpoint.status, _ENCODER.encode(result), headers=headers)


async def _stream(responder: Responder, stream: Stream) -> None:
    chunks = stream.chunks
    await responder.start_stream(200, stream.content_type.encode(), stream.headers)
    sentinel = object()
    while True:
        chunk = await asyncio.to_thread(next, chunks, sentinel)
        if chunk is sentinel:
            break
        assert isinstance(chunk, bytes)
        await responder.stream_chunk(chunk)
    await responder.end_stream()
