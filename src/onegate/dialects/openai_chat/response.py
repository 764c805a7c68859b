"""Reading OpenAI response bodies: usage for billing."""

from __future__ import annotations

import orjson

from onegate.accounting.usage import Usage, usage_from_openai


def usage_of_body(body: bytes) -> Usage | None:
    """Usage of a non-stream response (chat, completions, embeddings); None when absent or unparseable."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return usage_from_openai(data.get("usage")) if isinstance(data, dict) else None
