"""Token usage in one neutral shape, whatever dialect reported it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0  # all prompt tokens: those read from and written to the cache included
    cached_tokens: int = 0  # prompt tokens read from the upstream's cache
    cache_write_tokens: int = 0  # prompt tokens written to the upstream's cache
    output_tokens: int = 0
    reasoning_tokens: int = 0  # part of output_tokens
    images: int = 0  # images generated
    image_input_tokens: int = 0  # part of input_tokens: the images a prompt carried (image edits)
    image_output_tokens: int = 0  # part of output_tokens: the images generated
    video_seconds: float = 0.0  # seconds of video generated
    reported: bool = False  # False: nothing came from the upstream (estimated or none)


def usage_from_openai(data: dict | None) -> Usage | None:
    """Read an OpenAI `usage` object (Chat Completions, Completions or Embeddings)."""
    if not data:
        return None
    prompt_details = data.get("prompt_tokens_details") or {}
    completion_details = data.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=int(data.get("prompt_tokens") or 0),
        cached_tokens=int(prompt_details.get("cached_tokens") or 0),
        output_tokens=int(data.get("completion_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
        reported=True,
    )


def usage_from_images(data: dict | None, images: int = 0) -> Usage | None:
    """Read an Images API `usage`: `input_tokens_details{text_tokens,image_tokens}` and, not always,
    `output_tokens_details`. Without the output details every output token is an image token (they are
    what an image model produces; billing them at the text rate is a known peer bug). Some upstreams send
    the chat shape (`prompt_tokens_details`) instead: read that too."""
    if not data:
        return Usage(images=images) if images else None
    if "input_tokens" not in data and "prompt_tokens" in data:
        data = {
            "input_tokens": data.get("prompt_tokens"),
            "output_tokens": data.get("completion_tokens"),
            "input_tokens_details": data.get("prompt_tokens_details"),
            "output_tokens_details": data.get("completion_tokens_details"),
        }
    output = int(data.get("output_tokens") or 0)
    in_details = data.get("input_tokens_details") or {}
    out_details = data.get("output_tokens_details") or {}
    image_out = out_details.get("image_tokens")
    image_out = int(image_out) if image_out is not None else output - int(out_details.get("text_tokens") or 0)
    return Usage(
        input_tokens=int(data.get("input_tokens") or 0),
        cached_tokens=int(in_details.get("cached_tokens") or 0),
        output_tokens=output,
        images=images,
        image_input_tokens=int(in_details.get("image_tokens") or 0),
        image_output_tokens=max(0, image_out),
        reported=True,
    )


def estimate_tokens(text_length: int) -> int:
    """A rough token count from a character count (about four characters a token)."""
    return max(1, text_length // 4) if text_length else 0


def usage_in_body(body: bytes, read: Callable[[Any], Usage | None]) -> Usage | None:
    """Usage of a complete JSON answer, read from its `usage` field by the dialect's `read`; None when
    absent or unparseable."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return read(data.get("usage")) if isinstance(data, dict) else None
