"""Google's Veo through the Gemini API's long-running operations (a `type: gemini` channel).

Wire (Gemini API docs, video generation, REST):
- submit: `POST {base}/models/{model}:predictLongRunning` with `{"instances": [{"prompt": …}],
  "parameters": {"durationSeconds", "aspectRatio": "16:9" | "9:16", "resolution": "720p" | "1080p"}}`
  → an operation `{"name": "models/{model}/operations/{id}"}`;
- poll: `GET {base}/{name}` → `{"name", "done"?, "metadata"?, "response"?, "error"?}`; not done is
  `in_progress` (the API has no queue state); done with `error` (`{code, message}`) is `failed`; done with
  `response.generateVideoResponse.generatedSamples[0].video.uri` is `completed`;
- content: `GET` that uri with `x-goog-api-key` (only ever sent to the channel's own host).
OpenAI's `size` maps onto the aspect ratio (wider than tall: 16:9) and resolution (1080p from 1920 up);
`seconds` onto `durationSeconds`. An `input_reference` file and remixes are not offered on this adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from onegate import errors
from onegate.errors import GatewayError
from onegate.media.adapters.base import Polled, Refused, VideoJob, cleaned, poll_after, refused
from onegate.providers.aiohttp_calls import AiohttpResponse
from onegate.providers.http import HttpChannel


def parameters(seconds: str | None, size: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if seconds:
        params["durationSeconds"] = int(seconds)
    if size:
        width, height = (int(x) for x in size.split("x"))
        params["aspectRatio"] = "16:9" if width > height else "9:16"
        params["resolution"] = "1080p" if max(width, height) >= 1920 else "720p"
    return params


def from_operation(operation: dict[str, Any], hint: float | None, asked: Mapping[str, Any]) -> Polled:
    name = str(operation["name"])
    seconds = str(asked["durationSeconds"]) if asked.get("durationSeconds") else None
    if not operation.get("done"):
        progress = (operation.get("metadata") or {}).get("progressPercent")
        percent = int(progress) if isinstance(progress, int | float) and 0 <= progress <= 100 else 0
        return Polled(name, "in_progress", percent, seconds, poll_after=hint)
    error = operation.get("error")
    if error:
        code = str(error.get("status") or error.get("code") or "upstream_failed")
        return Polled(name, "failed", 0, seconds, error_code=code, error_message=str(error.get("message") or ""))
    result = (operation.get("response") or {}).get("generateVideoResponse") or {}
    samples = result.get("generatedSamples") or []
    uri = ((samples[0] if samples else {}).get("video") or {}).get("uri")
    if not uri:
        reasons = result.get("raiMediaFilteredReasons") or ["the operation finished without a video"]
        return Polled(
            name, "failed", 0, seconds, error_code="content_filtered", error_message="; ".join(map(str, reasons))
        )
    return Polled(name, "completed", 100, seconds, data={"uri": uri})


class VeoAdapter:
    can_remix = False

    def __init__(self, provider: HttpChannel) -> None:
        self.provider = provider
        self.channel = provider.name

    async def submit(self, job: VideoJob) -> Polled:
        if job.form is not None or job.remix_of is not None:
            what = "an input_reference file" if job.form is not None else "remixes"
            raise Refused(400, GatewayError(errors.INVALID_REQUEST, f"Veo channels in onegate do not take {what}."))
        params = parameters(job.seconds, job.size)
        body = orjson.dumps({"instances": [{"prompt": job.prompt}], "parameters": params})
        response = await self.provider.call(
            "POST", f"/models/{job.upstream_model}:predictLongRunning", body, self.provider.headers_with({})
        )
        polled = await self._operation(response, params)
        polled.status = "queued" if polled.status == "in_progress" else polled.status
        polled.data = {**polled.data, "parameters": params}
        return polled

    async def poll(self, upstream_id: str, data: Mapping[str, Any]) -> Polled:
        response = await self.provider.call("GET", "/" + upstream_id.lstrip("/"))
        return await self._operation(response, data.get("parameters") or {})

    async def content(
        self, upstream_id: str, data: Mapping[str, Any], variant: str, range_: str | None
    ) -> AiohttpResponse:
        uri = data.get("uri")
        if variant != "video" or not uri:
            raise Refused(400, GatewayError(errors.INVALID_REQUEST, f"Veo offers no '{variant}' variant."))
        same_host = urlsplit(uri).netloc == urlsplit(self.provider.base_url).netloc
        headers = self.provider.headers_with({}) if same_host else {}
        if range_:
            headers["Range"] = range_
        response = await self.provider.call("GET", "", None, headers, url=uri)
        if response.status >= 400:
            raise await refused(self.channel, response, self.provider.upstream_text)
        return response

    async def cancel(self, upstream_id: str, data: Mapping[str, Any]) -> None:
        response = await self.provider.call("POST", "/" + upstream_id.lstrip("/") + ":cancel", b"{}")
        await response.read()  # best effort: not every operation can be cancelled

    async def _operation(self, response: AiohttpResponse, asked: Mapping[str, Any]) -> Polled:
        if response.status >= 400:
            raise await refused(self.channel, response, self.provider.upstream_text)
        try:
            operation = orjson.loads(await response.read())
            return cleaned(from_operation(operation, poll_after(response.headers), asked), self.provider.upstream_text)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            error = GatewayError(
                errors.UPSTREAM_BAD_RESPONSE,
                f"Upstream channel '{self.channel}' answered with an operation onegate cannot read.",
            )
            raise Refused(502, error) from None
