"""`onegate-selftest-video`: a task that goes queued → in_progress → completed in a few seconds, in process.

Stateless: the upstream id carries the submit time, so any instance (or a restarted one) polls it to the
same answer. The content is a small valid MP4 (an `ftyp` and a `moov` box with a movie header: a
well-formed, silent, frameless movie) and a PNG thumbnail, so a client's download path is proved without
spending money.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Mapping
from typing import Any

from onegate import errors
from onegate.errors import GatewayError
from onegate.media.adapters.base import Polled, Refused, VideoJob
from onegate.providers.selftest import SELFTEST_PNG, SelftestResponse

QUEUED_FOR = 0.5  # seconds queued, then in progress until COMPLETED_AFTER
COMPLETED_AFTER = 2.0


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(seconds: int) -> bytes:
    """A well-formed MP4: `ftyp` (isom) and `moov` with an `mvhd` of the given duration."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, 1000, seconds * 1000)  # version/flags, times, timescale, duration
        + struct.pack(">IH10x", 0x10000, 0x100)  # rate 1.0, volume 1.0, reserved
        + matrix
        + bytes(24)  # pre-defined
        + struct.pack(">I", 2),  # next track id
    )
    return ftyp + _box(b"moov", mvhd) + _box(b"free", b"onegate-selftest-video")


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
        seconds = int(upstream_id.split("_", 3)[2])
        if variant == "thumbnail":
            return SelftestResponse(200, [SELFTEST_PNG], "image/png")
        if variant != "video":
            error = GatewayError(errors.INVALID_REQUEST, f"onegate-selftest-video has no '{variant}' variant.")
            raise Refused(400, error)
        return SelftestResponse(200, [mp4(seconds)], "video/mp4")

    async def cancel(self, upstream_id: str, data: Mapping[str, Any]) -> None:
        return None
