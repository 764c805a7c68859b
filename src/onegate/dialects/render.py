"""Render an error from the one catalog in the wire shape of the caller's dialect."""

from __future__ import annotations

from collections.abc import Callable

from onegate.dialects.anthropic_messages import errors as anthropic_errors
from onegate.dialects.gemini import errors as gemini_errors
from onegate.dialects.openai_chat import errors as openai_errors
from onegate.errors import GatewayError

Renderer = Callable[[GatewayError, str], bytes]

_BY_FAMILY: dict[str, Renderer] = {
    "openai": openai_errors.render_error,
    "anthropic": anthropic_errors.render_error,
    "gemini": gemini_errors.render_error,
}


def family_of(dialect: str) -> str:
    """`anthropic_messages` → `anthropic`; every OpenAI surface → `openai`."""
    if dialect.startswith("anthropic"):
        return "anthropic"
    if dialect.startswith("gemini"):
        return "gemini"
    return "openai"


def render_error(dialect: str, error: GatewayError, request_id: str) -> bytes:
    return _BY_FAMILY[family_of(dialect)](error, request_id)
