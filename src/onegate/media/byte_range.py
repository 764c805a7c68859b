"""One `Range: bytes=…` header against a body of known size (RFC 9110 §14): what onegate serves itself
(the self-test video's assets) answers ranges as an upstream would."""

from __future__ import annotations


class Unsatisfiable(Exception):
    """The range starts at or past the end: 416, with `Content-Range: bytes */SIZE`."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte, inclusive, of a single range; None to send the whole body (no header, or one
    this ignores as the RFC allows: another unit, several ranges, a malformed spec)."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = (part.strip() for part in spec.partition("-"))
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        if int(last) == 0:
            raise Unsatisfiable
        return max(0, size - int(last)), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable
    end = int(last) if last else size - 1
    return start, min(end, size - 1)
