"""The OpenAPI 3.1 document of the management API, built from the route table and its msgspec types: the
same types validate requests, so the document cannot drift from what the server accepts."""

from __future__ import annotations

import functools
from typing import Any

import msgspec
import orjson

from onegate import __version__
from onegate.admin.api_v1.types import ErrorBody

REF = "#/components/schemas/{name}"
ERRORS = {
    "400": "Invalid query or body",
    "401": "Not signed in, or the token is not valid",
    "403": "The role may not do this (or the CSRF token is missing)",
    "404": "No such object (or not one the caller may see)",
    "405": "Method not allowed on this path",
    "409": "Conflict (a duplicate name)",
}


def _param_schema(name: str) -> dict[str, Any]:
    if name == "id" or (name.endswith("_id") and name != "request_id"):
        return {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    return {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^/?#%]+$"}


def build(root: str) -> dict[str, Any]:
    from onegate.admin.api_v1.routes import ENDPOINTS

    types: list[Any] = [ErrorBody]
    for e in ENDPOINTS:
        types += [t for t in (e.response, e.query, e.body) if t is not None]
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    by_type = dict(zip([id(t) for t in types], schemas, strict=True))
    error_ref = by_type[id(ErrorBody)]
    paths: dict[str, dict[str, Any]] = {}
    for e in ENDPOINTS:
        op: dict[str, Any] = {
            "summary": e.summary,
            "operationId": (
                e.method.lower() + e.path.replace("/", "_").replace("{", "").replace("}", "").replace(".", "_")
            ),
            "tags": list(e.tags),
        }
        params = [
            {"name": seg[1:-1], "in": "path", "required": True, "schema": _param_schema(seg[1:-1])}
            for seg in e.path.split("/")
            if seg.startswith("{")
        ]
        if e.query is not None:
            q = components[e.query.__name__]
            required = set(q.get("required", []))
            params += [
                {"name": name, "in": "query", "required": name in required, "schema": schema}
                for name, schema in q["properties"].items()
            ]
        if params:
            op["parameters"] = params
        if e.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": by_type[id(e.body)]}}}
        if e.content_type == "text/csv":
            ok = {"description": "CSV, streamed", "content": {"text/csv": {"schema": {"type": "string"}}}}
        else:
            ok = {"description": "OK", "content": {"application/json": {"schema": by_type[id(e.response)]}}}
        op["responses"] = {
            str(e.status): ok,
            **{
                code: {"description": text, "content": {"application/json": {"schema": error_ref}}}
                for code, text in ERRORS.items()
            },
        }
        if e.roles is None:
            op["security"] = []
        else:
            op["x-roles"] = sorted(e.roles)
        paths.setdefault("/admin/api/v1" + e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "onegate management API",
            "version": __version__,
            "description": "Keys, teams, prices, channels, logs, stats, alerts, admins and the audit trail. "
            "Sign in with `Authorization: Bearer <admin token | ONEGATE_ADMIN_TOKEN | sk-og- key>`, or "
            "POST /admin/api/v1/session for a cookie (state-changing cookie requests need X-CSRF-Token). "
            "Amounts are integer micro-units of the configured currency unless a field says otherwise.",
        },
        "servers": [{"url": root}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "onegate_session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }


@functools.lru_cache(maxsize=8)
def document_bytes(root: str) -> bytes:
    return orjson.dumps(build(root))
