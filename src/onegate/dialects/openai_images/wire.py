"""Wire shapes of OpenAI's Images API and Videos API request bodies, as far as onegate reads them.

Checked once at decode (dialects/schema.py). Fields not declared pass through as sent; the declared ones
are typed as loosely as the APIs allow. Multipart forms (edits, video references) carry text fields, which
the endpoints read and check by name (media/images.py, media/videos.py).
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class ImageGenerationRequest(TypedDict):
    model: str
    prompt: str
    n: NotRequired[int | None]
    size: NotRequired[str | None]
    quality: NotRequired[str | None]
    response_format: NotRequired[str | None]
    output_format: NotRequired[str | None]
    output_compression: NotRequired[int | None]
    background: NotRequired[str | None]
    moderation: NotRequired[str | None]
    style: NotRequired[str | None]
    user: NotRequired[str | None]
    stream: NotRequired[bool | None]
    partial_images: NotRequired[int | None]


class VideoCreateRequest(TypedDict):
    model: str
    prompt: str
    seconds: NotRequired[str | int | None]
    size: NotRequired[str | None]
    callback_url: NotRequired[str | None]  # onegate's extra: where the task's signed callback goes


class VideoRemixRequest(TypedDict):
    prompt: str
