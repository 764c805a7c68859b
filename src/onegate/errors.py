"""The one error catalog: every error onegate answers with, as a stable code plus its HTTP status.

Dialect packages render a `GatewayError` in their own wire shape (`dialects/*/errors.py`); nothing else
builds error bodies. Codes are stable so support can count them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorKind:
    code: str
    status: int
    openai_type: str
    anthropic_type: str

    @property
    def retryable(self) -> bool:
        # Stainless SDKs retry 408/409/429/5xx unless told not to; a client's own mistake never heals.
        return self.status in (408, 409, 429) or self.status >= 500


def _kind(code: str, status: int, openai_type: str, anthropic_type: str) -> ErrorKind:
    return ErrorKind(code, status, openai_type, anthropic_type)


MISSING_API_KEY = _kind("missing_api_key", 401, "invalid_request_error", "authentication_error")
INVALID_API_KEY = _kind("invalid_api_key", 401, "invalid_request_error", "authentication_error")
KEY_DISABLED = _kind("key_disabled", 401, "invalid_request_error", "authentication_error")
KEY_EXPIRED = _kind("key_expired", 401, "invalid_request_error", "authentication_error")
MODEL_NOT_ALLOWED = _kind("model_not_allowed", 403, "invalid_request_error", "permission_error")
MODEL_NOT_FOUND = _kind("model_not_found", 404, "invalid_request_error", "not_found_error")
UNKNOWN_PATH = _kind("unknown_url", 404, "invalid_request_error", "not_found_error")
METHOD_NOT_ALLOWED = _kind("method_not_allowed", 405, "invalid_request_error", "invalid_request_error")
WEBSOCKET_NOT_SUPPORTED = _kind("websocket_not_supported", 426, "invalid_request_error", "invalid_request_error")
INVALID_JSON = _kind("invalid_json", 400, "invalid_request_error", "invalid_request_error")
INVALID_REQUEST = _kind("invalid_request", 400, "invalid_request_error", "invalid_request_error")
# The caller's data cannot be translated or re-encoded between dialects (not the channel's fault).
UNTRANSLATABLE_REQUEST = _kind("untranslatable_request", 400, "invalid_request_error", "invalid_request_error")
BODY_TOO_LARGE = _kind("request_too_large", 413, "invalid_request_error", "request_too_large")
UPSTREAM_UNREACHABLE = _kind("upstream_unreachable", 502, "server_error", "api_error")
UPSTREAM_BAD_RESPONSE = _kind("upstream_bad_response", 502, "server_error", "api_error")
UPSTREAM_AUTH_FAILED = _kind("upstream_auth_failed", 502, "server_error", "api_error")
UPSTREAM_TIMEOUT = _kind("upstream_timeout", 504, "server_error", "api_error")
# Every channel of a known model is open, cooling, disabled or full: come back after Retry-After.
ALL_CHANNELS_UNAVAILABLE = _kind("all_channels_unavailable", 503, "server_error", "overloaded_error")
INTERNAL_ERROR = _kind("internal_error", 500, "server_error", "api_error")
CLIENT_DISCONNECTED = _kind("client_disconnected", 499, "invalid_request_error", "invalid_request_error")
# OpenAI's own type for an exhausted balance is `insufficient_quota`; Anthropic's is `billing_error`.
INSUFFICIENT_QUOTA = _kind("insufficient_quota", 402, "insufficient_quota", "billing_error")
RATE_LIMITED = _kind("rate_limit_exceeded", 429, "rate_limit_error", "rate_limit_error")
ACCOUNTING_UNAVAILABLE = _kind("accounting_unavailable", 503, "server_error", "api_error")
ADMIN_AUTH_REQUIRED = _kind("admin_auth_required", 401, "invalid_request_error", "authentication_error")
ADMIN_DISABLED = _kind("admin_disabled", 403, "permission_error", "permission_error")
NOT_FOUND = _kind("not_found", 404, "invalid_request_error", "not_found_error")
FORBIDDEN = _kind("forbidden", 403, "permission_error", "permission_error")  # a role that may not do this
CONFLICT = _kind("conflict", 409, "invalid_request_error", "invalid_request_error")  # e.g. a duplicate name


# Statuses onegate keeps when an upstream answers them with an error; any other 5xx (501, 505, Cloudflare's
# 520-524) is a 502: the caller needs "the upstream failed", not a proxy's private number.
_KEPT_5XX = frozenset({500, 502, 503, 504, 529})
# Anthropic's documented type for each 4xx status it names; any other 4xx is `invalid_request_error`.
_ANTHROPIC_4XX = {
    402: "billing_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
}


def upstream_kind(status: int, code: str | None) -> ErrorKind:
    """The kind for an error an upstream answered, when no other channel served the request instead.

    The one table (tests/security/test_upstream_status_table.py walks it for every dialect):
      401, 403  → 502 upstream_auth_failed: the channel's own credential was refused, not the caller's key
      408       → 504 upstream_timeout: the upstream timed out, the caller did not
      429       → 429 rate_limit_exceeded (insufficient_quota when the upstream says so), with its Retry-After
      5xx       → the same status for 500/502/503/504/529, else 502
      other 4xx → the same status: the caller's own request was refused
    The code is the upstream's own when it names one (a plain word, checked by the caller), else upstream_error.
    `code` is the upstream's own, already checked to be a plain word.
    """
    if status in (401, 403):
        return UPSTREAM_AUTH_FAILED
    if status == 408:
        return UPSTREAM_TIMEOUT
    if status == 429:
        return _kind(
            code if code == "insufficient_quota" else RATE_LIMITED.code, 429, "rate_limit_error", "rate_limit_error"
        )
    if status >= 500:
        anthropic_type = "overloaded_error" if status in (503, 529) else "api_error"
        return _kind(code or "upstream_error", status if status in _KEPT_5XX else 502, "server_error", anthropic_type)
    anthropic_type = _ANTHROPIC_4XX.get(status, "invalid_request_error")
    return _kind(code or "upstream_error", status, "invalid_request_error", anthropic_type)


class GatewayError(Exception):
    """An error to answer the client with, in the client's dialect."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        from_upstream: bool = False,
        hint: str | None = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.from_upstream = from_upstream
        self.hint = hint  # a diagnosis code (body.*) for the request log's config_hint
        self.fix = fix  # and the fix in words, for x-onegate-hint

    @property
    def status(self) -> int:
        return self.kind.status

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if not self.kind.retryable:
            headers.setdefault("x-should-retry", "false")
        return headers
