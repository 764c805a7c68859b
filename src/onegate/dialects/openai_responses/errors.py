"""Responses errors: the same OpenAI JSON shape as Chat's before the first byte, `response.failed` after.

Codex reads `response.failed`'s `error.code` and acts on four values (codex-rs/codex-api/src/sse/responses.rs):
`context_length_exceeded` (the context window is full), `insufficient_quota` and `usage_not_included`
(stop, do not retry), and `rate_limit_exceeded`, whose message it searches for "try again in 1.5s" to time
its retry. Everything else is `server_error`, which Codex retries.
"""

from __future__ import annotations

import re

from onegate.dialects.openai_chat.errors import parse_upstream_error, render_error
from onegate.errors import GatewayError

__all__ = ["failure_of", "parse_upstream_error", "render_error"]

_CONTEXT = re.compile(
    r"context[_ ]length|context window|maximum context|prompt is too long|too many tokens|reduce the length",
    re.IGNORECASE,
)
_QUOTA = re.compile(r"insufficient[_ ](quota|balance)|quota exceeded|exceeded your current quota", re.IGNORECASE)
_RATE = re.compile(r"rate[_ ]limit|too many requests", re.IGNORECASE)
_RETRY_IN = re.compile(r"try again in\s*\d", re.IGNORECASE)
_KEPT = ("context_length_exceeded", "insufficient_quota", "usage_not_included", "rate_limit_exceeded")


def failure_code(error: GatewayError) -> str:
    """The `response.failed` code for one of our errors: the upstream's own when Codex knows it."""
    code = error.kind.code
    if code in _KEPT:
        return code
    message = error.message
    if _CONTEXT.search(message):
        return "context_length_exceeded"
    if code in ("insufficient_balance", "quota_exceeded") or error.status == 402 or _QUOTA.search(message):
        return "insufficient_quota"
    if error.status == 429 or _RATE.search(message):
        return "rate_limit_exceeded"
    return "server_error"


def failure_of(error: GatewayError) -> dict[str, str]:
    """`response.error` for a failed response: code and message, with a retry delay on rate limits."""
    code = failure_code(error)
    message = error.message
    if code == "rate_limit_exceeded" and not _RETRY_IN.search(message):
        retry_after = next((v for k, v in error.headers.items() if k.lower() == "retry-after"), "")
        seconds = retry_after if retry_after.replace(".", "", 1).isdigit() else "1"
        message = f"{message.rstrip('.')}. Please try again in {seconds}s."
    return {"code": code, "message": message}
