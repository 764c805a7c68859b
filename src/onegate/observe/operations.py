"""`gen_ai.operation.name` per surface, from the table of surfaces (surfaces without one get no GenAI metrics)."""

from __future__ import annotations

from onegate.surfaces import SURFACES

OPERATIONS = {s.id: s.operation for s in SURFACES.values() if s.operation}
