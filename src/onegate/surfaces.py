"""The surfaces onegate serves, one row each: every per-surface decision is read from this table.

A surface is what a caller talks to (an endpoint family and the wire shape it expects); `ctx.dialect`
holds its id for the whole request and the request log stores it. A new surface (images, video, Gemini's
generateContent) joins by adding a row here, a codec in `dialects/registry.py` if models answer it, and
its endpoint in `server/routes.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SurfaceId = Literal[
    "openai_chat",
    "openai_chat_responses_body",  # a Responses-shaped body on /chat/completions (Cursor), answered as Chat
    "openai_completions",
    "openai_embeddings",
    "openai_responses",
    "openai_models",
    "anthropic_messages",
    "anthropic_count_tokens",
    "anthropic_models",
    "gemini_generate_content",
    "openai_images",  # /images/generations and /images/edits
    "openai_videos",  # /videos: tasks onegate owns (media/)
    "ops",
    "page",
    "admin",
    "console",  # the web console's shell and files
]
# The error shape a caller understands (dialects/render.py has one renderer per family).
Family = Literal["openai", "anthropic", "gemini"]
# The upstream API that serves a surface as sent (a pass-through): a provider speaking it lists the surface
# among its native dialects. "openai_responses" is opt-in per channel (`responses_api: true`).
NativeTo = Literal["openai", "openai_responses", "anthropic"]


@dataclass(frozen=True, slots=True)
class Surface:
    id: SurfaceId
    family: Family
    codec: str | None = None  # its codec in dialects/registry.py; None where no model answers
    native_to: NativeTo | None = None
    billed: bool = True  # a model call on it is charged (counting tokens is free)
    has_output: bool = True  # the answer has output tokens to reserve for (embeddings have none)
    streams: bool = True  # `"stream": true` is honoured
    output_limit: str = "max_tokens"  # the body field that limits output, set when a balance pays
    operation: str | None = None  # OpenTelemetry's gen_ai.operation.name (metrics, traces); None: not a model call


# fmt: off
_ROWS = (
    # Surface(id, family, codec, native_to, facts that differ from the defaults)
    Surface("openai_chat", "openai", "openai_chat", "openai", output_limit="max_completion_tokens", operation="chat"),
    Surface(
        "openai_chat_responses_body", "openai", "openai_chat_responses_body", output_limit="max_output_tokens",
        operation="chat",
    ),
    Surface("openai_completions", "openai", "openai_completions", "openai", operation="text_completion"),
    Surface(
        "openai_embeddings", "openai", "openai_embeddings", "openai", has_output=False, streams=False,
        operation="embeddings",
    ),
    Surface(
        "openai_responses", "openai", "openai_responses", "openai_responses", output_limit="max_output_tokens",
        operation="chat",
    ),
    Surface("openai_models", "openai"),
    Surface("anthropic_messages", "anthropic", "anthropic_messages", "anthropic", operation="chat"),
    # counting tokens is no OpenTelemetry operation: onegate names it in the same attribute
    Surface(
        "anthropic_count_tokens", "anthropic", "anthropic_count_tokens", "anthropic", billed=False,
        operation="count_tokens",
    ),
    Surface("anthropic_models", "anthropic"),
    Surface("gemini_generate_content", "gemini"),
    # images and video estimate their own cost at admission (media/), so no output limit is set for them.
    # OpenTelemetry registers no image or video operation: onegate's own names, in the registered verb_object
    # form (create_agent, generate_content); docs/MEDIA.md says why not generate_content
    Surface("openai_images", "openai", "openai_images", "openai", output_limit="", operation="generate_image"),
    Surface(
        "openai_videos", "openai", None, "openai", streams=False, output_limit="", operation="generate_video",
    ),
    Surface("ops", "openai"),  # /healthz, Claude Code's HEAD /api warm-up
    Surface("page", "openai"),  # the HTML pages
    Surface("admin", "openai"),  # /admin/api/...
    Surface("console", "openai"),  # /console: the web console (its own CSP, per response)
)
# fmt: on
SURFACES: dict[str, Surface] = {s.id: s for s in _ROWS}
# Where a request is answered when only its family is known (a misdirected path diagnosed as Anthropic's).
SURFACE_OF_FAMILY: dict[str, SurfaceId] = {
    "openai": "openai_chat",
    "anthropic": "anthropic_messages",
    "gemini": "gemini_generate_content",
}


def native_surfaces(*apis: NativeTo) -> frozenset[str]:
    """The surfaces an upstream speaking `apis` serves as sent."""
    return frozenset(s.id for s in SURFACES.values() if s.native_to in apis)
