"""Type checks for a decoded request body, against the wire schema of its dialect (each `dialects/*/wire.py`).

A body is parsed once (orjson); here it is checked once, by `msgspec.convert` against TypedDicts that
declare the fields onegate reads or translates, so the translators below never meet an integer where
they expect a message. Fields a schema does not declare pass through untouched, and the converted copy
is thrown away: the body forwarded is the one the client sent. A wrong type is a 400 in the caller's
dialect naming the field (`messages[0].content: expected string or array, got integer`).

Limits that keep one request from costing the process more than its own size:
- `MAX_DEPTH`: JSON nested deeper than 64 arrays/objects is refused before anything walks it (orjson
  cannot re-encode past 255 levels; real tool schemas and histories stay far below 64);
- `MAX_MODEL_NAME`: a model name longer than 256 characters is refused before any lookup, cache or log.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from onegate import errors
from onegate.errors import GatewayError

MAX_DEPTH = 64
MAX_MODEL_NAME = 256
_COUNT_BELOW = 16384  # bodies this small are checked by counting brackets first

_MSGSPEC_ERROR = re.compile(r"^(?P<detail>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]*)`$")
_TYPE_NAMES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "null": "null"}
_TYPES = re.compile(r"`([^`]*)`")


def check_depth(body: dict[str, Any] | list[Any], raw: bytes) -> None:
    """Refuse JSON nested deeper than `MAX_DEPTH`. `raw`: the body's bytes, for the fast path (a small body
    with fewer brackets than the limit cannot be nested that deep; counting them is C speed)."""
    if len(raw) < _COUNT_BELOW and raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH:
        return
    if too_deep(body):
        raise GatewayError(
            errors.INVALID_REQUEST,
            f"The request body is nested deeper than {MAX_DEPTH} levels of arrays and objects.",
        )


def too_deep(value: Any, left: int = MAX_DEPTH) -> bool:  # a dict or a list
    """Whether `value` nests more than `left` arrays/objects (itself included)."""
    if left <= 0:
        return True
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if (kind is dict or kind is list) and too_deep(item, left - 1):
            return True
    return False


def check_model_name(model: str, param: str = "model") -> None:
    if len(model) > MAX_MODEL_NAME:
        raise GatewayError(
            errors.INVALID_REQUEST,
            f"{param}: a model name is at most {MAX_MODEL_NAME} characters (this one has {len(model)}).",
            param=param,
        )


def validate(body: dict[str, Any], schema: type) -> None:
    """Check the fields `schema` declares; raise a 400 naming the first field of the wrong type."""
    try:
        msgspec.convert(body, schema)
    except msgspec.ValidationError as exc:
        path, detail = describe(str(exc))
        raise GatewayError(errors.INVALID_REQUEST, f"{path}: {detail}" if path else detail, param=path) from None


def describe(message: str) -> tuple[str | None, str]:
    """msgspec's `Expected `str | array`, got `int` - at `$.messages[0].content`` → (path, readable detail)."""
    match = _MSGSPEC_ERROR.match(message)
    detail, path = (match.group("detail"), match.group("path")) if match else (message, None)
    path = path.lstrip(".") if path else None
    missing = _MISSING.match(detail)
    if missing:
        path = f"{path}.{missing.group('field')}" if path else missing.group("field")
        return path, "field required"
    detail = _TYPES.sub(lambda m: _one_of([_TYPE_NAMES.get(t, t) for t in m.group(1).split(" | ")]), detail)
    return path or None, detail[:1].lower() + detail[1:]


def _one_of(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
