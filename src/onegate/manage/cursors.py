"""Keyset cursors for newest-first lists: the last row's (created_at, id), opaque to the caller."""

from __future__ import annotations

import base64

import orjson

from onegate.manage.actor import invalid


def encode_cursor(created_at: float, row_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([created_at, row_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        at, row_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return float(at), str(row_id)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise invalid("cursor is not one this API gave out") from None
