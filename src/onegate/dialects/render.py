"""Render an error from the one catalog in the wire shape of the caller's dialect."""

from __future__ import annotations

from collections.abc import Callable

from onegate.dialects.anthropic_messages import errors as anthropic_errors
from onegate.dialects.gemini import errors as gemini_errors
from onegate.dialects.openai_chat import errors as openai_errors
from onegate.errors import GatewayError
from onegate.surfaces import SURFACES, Family

Renderer = Callable[[GatewayError, str], bytes]

_BY_FAMILY: dict[Family, Renderer] = {
    "openai": openai_errors.render_error,
    "anthropic": anthropic_errors.render_error,
    "gemini": gemini_errors.render_error,
}


def family_of(surface: str) -> Family:
    """`anthropic_messages` → `anthropic`: the error shape the surface's callers read."""
    return SURFACES[surface].family


def render_error(surface: str, error: GatewayError, request_id: str) -> bytes:
    return _BY_FAMILY[SURFACES[surface].family](error, request_id)
