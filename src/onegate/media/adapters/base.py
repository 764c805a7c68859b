"""The interface every video upstream is adapted to, and what its answers become.

An adapter speaks one vendor's task API and maps its statuses onto OpenAI's `queued | in_progress |
completed | failed` and its progress onto a percentage. HTTP errors from the upstream are raised as
`Refused` (the status decides whether another channel or a later poll may do better); transport failures
as the provider protocol's `UpstreamTransportError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from onegate.channels.faults import retry_after_seconds
from onegate.errors import GatewayError
from onegate.media.multipart import Form
from onegate.pipeline.exchange import upstream_error
from onegate.providers.protocol import UpstreamResponse
from onegate.redaction import UpstreamText


@dataclass(frozen=True, slots=True)
class VideoJob:
    upstream_model: str
    prompt: str
    seconds: str | None = None
    size: str | None = None
    form: Form | None = None  # the client's multipart form (an input_reference file), passed on in place
    remix_of: str | None = None  # the upstream id of the video to remix


@dataclass(slots=True)
class Polled:
    """What the upstream says about a task, in OpenAI's terms."""

    upstream_id: str
    status: str  # queued | in_progress | completed | failed
    progress: int = 0
    seconds: str | None = None
    size: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    expires_at: float | None = None
    poll_after: float | None = None  # seconds: openai-poll-after-ms or Retry-After
    data: dict[str, Any] = field(default_factory=dict)  # kept privately with the task (a result URL …)


class Refused(Exception):
    """The upstream answered an HTTP error."""

    def __init__(self, status: int, error: GatewayError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error
        self.retry_after = retry_after

    @property
    def channel_fault(self) -> bool:
        """429, 408, 5xx, or the channel's credential: another channel (or a later poll) may succeed."""
        return self.status in (401, 403, 408, 429) or self.status >= 500


class VideoAdapter(Protocol):
    channel: str
    can_remix: bool

    async def submit(self, job: VideoJob) -> Polled: ...

    async def poll(self, upstream_id: str, data: Mapping[str, Any]) -> Polled: ...

    async def content(
        self, upstream_id: str, data: Mapping[str, Any], variant: str, range_: str | None
    ) -> UpstreamResponse:
        """The asset as a byte stream (status 200 or 206 for a range), headers included."""
        ...

    async def cancel(self, upstream_id: str, data: Mapping[str, Any]) -> None: ...


async def refused(channel: str, response: UpstreamResponse, text: UpstreamText | None = None) -> Refused:
    """An upstream's HTTP error, its words through the one door for upstream text (redacted, capped)."""
    body = await response.read()
    error = upstream_error(channel, response.status, body, text)
    return Refused(response.status, error, retry_after_seconds(response.headers))


def cleaned(polled: Polled, text: UpstreamText) -> Polled:
    """A task's upstream error message, as every upstream text is repeated: redacted and capped."""
    if polled.error_message:
        polled.error_message = text.clean(polled.error_message)
    return polled


def poll_after(headers: Mapping[str, str]) -> float | None:
    """The upstream's hint for the next poll: `openai-poll-after-ms`, else `Retry-After` (seconds)."""
    hint = headers.get("openai-poll-after-ms")
    if hint is not None:
        try:
            return max(0.0, float(hint) / 1000)
        except ValueError:
            pass
    return retry_after_seconds(headers)
