"""An OpenAI-Videos-compatible upstream (OpenAI's own `/videos`, and the many aggregators that expose it).

Submit is `POST /videos` as multipart/form-data (what OpenAI's API takes; the client's own form is passed
on in place when it sent one, with `model` swapped), polling is `GET /videos/{id}` honouring
`openai-poll-after-ms`, content is `GET /videos/{id}/content?variant=`, cancel is `DELETE /videos/{id}`
and remix `POST /videos/{id}/remix`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from onegate.media.adapters.base import Polled, Refused, VideoJob, cleaned, poll_after, refused
from onegate.providers.aiohttp_calls import AiohttpResponse, PiecesPayload
from onegate.providers.http import HttpChannel

STATUSES = {"queued": "queued", "in_progress": "in_progress", "completed": "completed", "failed": "failed"}


class OpenAIVideosAdapter:
    can_remix = True

    def __init__(self, provider: HttpChannel) -> None:
        self.provider = provider
        self.channel = provider.name

    async def submit(self, job: VideoJob) -> Polled:
        if job.remix_of is not None:
            body = orjson.dumps({"prompt": job.prompt})
            headers = self.provider.headers_with({"Content-Type": "application/json"})
            return await self._video("POST", f"/videos/{job.remix_of}/remix", body, headers)
        if job.form is not None:
            data: Any = PiecesPayload(job.form.with_field("model", job.upstream_model))
            headers = self.provider.headers_with({"Content-Type": job.form.content_type})
        else:
            fields = {"model": job.upstream_model, "prompt": job.prompt, "seconds": job.seconds, "size": job.size}
            data = aiohttp.FormData({k: v for k, v in fields.items() if v is not None}, default_to_multipart=True)
            headers = {k: v for k, v in self.provider.headers_with({}).items() if k.lower() != "content-type"}
        return await self._video("POST", "/videos", data, headers)

    async def poll(self, upstream_id: str, data: Mapping[str, Any]) -> Polled:
        return await self._video("GET", f"/videos/{upstream_id}")

    async def content(
        self, upstream_id: str, data: Mapping[str, Any], variant: str, range_: str | None
    ) -> AiohttpResponse:
        headers = self.provider.headers_with({"Accept": "application/binary", **({"Range": range_} if range_ else {})})
        response = await self.provider.call(
            "GET", f"/videos/{upstream_id}/content", None, headers, {"variant": variant}
        )
        if response.status >= 400:
            raise await refused(self.channel, response, self.provider.upstream_text)
        return response

    async def cancel(self, upstream_id: str, data: Mapping[str, Any]) -> None:
        response = await self.provider.call("DELETE", f"/videos/{upstream_id}")
        if response.status >= 400 and response.status != 404:
            raise await refused(self.channel, response, self.provider.upstream_text)
        await response.read()

    async def _video(
        self, method: str, endpoint: str, data: Any = None, headers: dict[str, str] | None = None
    ) -> Polled:
        response = await self.provider.call(method, endpoint, data, headers)
        if response.status >= 400:
            raise await refused(self.channel, response, self.provider.upstream_text)
        try:
            video = orjson.loads(await response.read())
            return cleaned(from_video(video, poll_after(response.headers)), self.provider.upstream_text)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise Refused(502, _unreadable(self.channel)) from None


def from_video(video: dict[str, Any], hint: float | None) -> Polled:
    """OpenAI's `video` object → `Polled`; a status OpenAI does not have (cancelled, expired) is `failed`."""
    status = STATUSES.get(str(video["status"]), "failed")
    error = video.get("error") or {}
    progress = video.get("progress")
    return Polled(
        upstream_id=str(video["id"]),
        status=status,
        progress=100
        if status == "completed"
        else int(progress)
        if isinstance(progress, int | float) and math.isfinite(progress)
        else 0,
        seconds=str(video["seconds"]) if video.get("seconds") is not None else None,
        size=video.get("size"),
        error_code=(error.get("code") or ("upstream_failed" if status == "failed" else None)),
        error_message=error.get("message")
        or (f"the upstream reports the video as {video['status']}" if status == "failed" else None),
        expires_at=video.get("expires_at"),
        poll_after=hint,
    )


def _unreadable(channel: str) -> Any:
    from onegate import errors
    from onegate.errors import GatewayError

    return GatewayError(
        errors.UPSTREAM_BAD_RESPONSE, f"Upstream channel '{channel}' answered with a video object onegate cannot read."
    )
