"""`onegate-selftest-video`: a task that goes queued → in_progress → completed in a few seconds, in process.

Stateless: the upstream id carries the submit time, so any instance (or a restarted one) polls it to the
same answer. The content is a real, playable MP4 (4 s of H.264; selftest_assets/README.md says how it was
made), a WebP thumbnail and a JPEG spritesheet, served with ranges as an upstream would, so a client's
download and playback path is proved without spending money.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from onegate import errors
from onegate.errors import GatewayError
from onegate.media.adapters.base import Polled, Refused, VideoJob
from onegate.media.byte_range import Unsatisfiable, byte_range
from onegate.providers.selftest import SelftestResponse

QUEUED_FOR = 0.5  # seconds queued, then in progress until COMPLETED_AFTER
COMPLETED_AFTER = 2.0
ASSETS = {  # variant → (file in selftest_assets/, content type)
    "video": ("video.mp4", "video/mp4"),
    "thumbnail": ("thumbnail.webp", "image/webp"),
    "spritesheet": ("spritesheet.jpg", "image/jpeg"),
}


@functools.cache
def asset(variant: str) -> bytes:
    return (files("onegate.media.adapters") / "selftest_assets" / ASSETS[variant][0]).read_bytes()


def ranged(body: bytes, content_type: str, range_: str | None) -> SelftestResponse:
    """The body, or the one byte range asked for (206), or 416 for a range past its end."""
    size = len(body)
    try:
        wanted = byte_range(range_, size)
    except Unsatisfiable:
        return SelftestResponse(416, [b""], content_type, {"content-range": f"bytes */{size}"})
    if wanted is None:
        return SelftestResponse(200, [body], content_type, {"accept-ranges": "bytes", "content-length": str(size)})
    first, last = wanted
    headers = {"accept-ranges": "bytes", "content-range": f"bytes {first}-{last}/{size}"}
    return SelftestResponse(
        206, [body[first : last + 1]], content_type, headers | {"content-length": str(last - first + 1)}
    )


class SelftestVideoAdapter:
    channel = "selftest"
    can_remix = True

    async def submit(self, job: VideoJob) -> Polled:
        seconds = job.seconds if job.seconds and job.seconds.isdigit() else "4"
        size = job.size or "720x1280"
        upstream_id = f"selftest_{time.time():.3f}_{seconds}_{size}"
        return Polled(upstream_id, "queued", 0, seconds, size, poll_after=QUEUED_FOR)

    async def poll(self, upstream_id: str, data: Mapping[str, Any]) -> Polled:
        _, started, seconds, size = upstream_id.split("_", 3)
        age = time.time() - float(started)
        if age < QUEUED_FOR:
            return Polled(upstream_id, "queued", 0, seconds, size, poll_after=QUEUED_FOR - age)
        if age < COMPLETED_AFTER:
            progress = int(100 * (age - QUEUED_FOR) / (COMPLETED_AFTER - QUEUED_FOR))
            return Polled(upstream_id, "in_progress", progress, seconds, size, poll_after=0.5)
        return Polled(upstream_id, "completed", 100, seconds, size, expires_at=float(started) + 86400)

    async def content(self, upstream_id: str, data: Mapping[str, Any], variant: str, range_: str | None) -> Any:
        if variant not in ASSETS:
            error = GatewayError(errors.INVALID_REQUEST, f"onegate-selftest-video has no '{variant}' variant.")
            raise Refused(400, error)
        return ranged(asset(variant), ASSETS[variant][1], range_)

    async def cancel(self, upstream_id: str, data: Mapping[str, Any]) -> None:
        return None
