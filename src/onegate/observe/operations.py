"""`gen_ai.operation.name` per surface, from the table of surfaces (surfaces without one get no GenAI metrics)."""

from __future__ import annotations

from onegate.surfaces import SURFACES

OPERATIONS: dict[str, str] = {s.id: s.operation for s in SURFACES.values() if s.operation}


def operation_of(surface: str, method: str) -> str:
    """The request's GenAI operation, or "" when it is none: a model is called by a POST; the reads and
    deletes a surface also serves (a video's status, its content, cancelling it) call no model."""
    return OPERATIONS.get(surface, "") if method == "POST" else ""
