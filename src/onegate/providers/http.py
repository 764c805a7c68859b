"""What every vendor reached over HTTP shares: pooled connections, timeouts, and transport failures raised as
the provider protocol's exceptions. A vendor class only says which headers.

Model requests (`send`) go through the lean client of `providers/h1.py`, which says why; everything else
(`call`: the media adapters' uploads, polls and downloads) through one aiohttp session, imported on the first
call (`providers/aiohttp_calls.py` says why)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from onegate import __version__
from onegate.providers.h1 import H1Response, Origin, Pool, encode_headers, parse_origin
from onegate.providers.protocol import (
    UpstreamConnectError,
    UpstreamRequest,
    UpstreamTransportError,
    transport_message,
)
from onegate.redaction import UpstreamText
from onegate.settings import ChannelConfig, Timeouts

if TYPE_CHECKING:
    import aiohttp

    from onegate.providers.aiohttp_calls import AiohttpResponse

USER_AGENT = f"onegate/{__version__}"
KEEPALIVE = 30.0  # seconds an idle upstream connection is kept (bench/soak waits longer before counting fds)
# what aiohttp asked for on its own, and both clients decompress
ACCEPT_ENCODING = {"Accept-Encoding": "gzip, deflate"}


class SessionFactory:
    """One pooled client session per process, created inside the running event loop; and the lean client's
    pool for model requests, one per event loop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._pool: Pool | None = None

    def pool(self) -> Pool:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool.loop is not loop:
            self._pool = Pool(loop, KEEPALIVE)
        return self._pool

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            from onegate.providers.aiohttp_calls import new_session  # aiohttp loads here, on the first call

            self._session = new_session(KEEPALIVE)
        return self._session

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._session is not None:
            await self._session.close()


class HttpChannel:
    """A configured channel reached over HTTP: POST `base_url + endpoint` with the vendor's headers."""

    dialect: str
    native_dialects: frozenset[str]

    def __init__(self, channel: ChannelConfig, session_factory: SessionFactory, hide_5xx_text: bool = False) -> None:
        self.name = channel.name
        self.timeouts: Timeouts = channel.timeouts
        self.passthrough_fields = frozenset(channel.passthrough_fields)
        self._base_url = channel.base_url
        self._session_factory = session_factory
        # The secret comes from the environment at start; it is never logged or shown.
        secret = os.environ.get(channel.api_key_env, "") if channel.api_key_env else ""
        # An upstream may echo the credential in an error: its text is cleaned of this secret everywhere.
        self.upstream_text = UpstreamText((secret,) if secret else (), hide_5xx_text)
        # Built once: the hot path only picks the dict (and its encoded lines) for stream or not.
        self._headers = {stream: self._base_headers(stream, secret) for stream in (False, True)}
        self._header_lines = {stream: encode_headers(self._send_headers(h)) for stream, h in self._headers.items()}
        self._targets: dict[str, bytes] = {}  # endpoint → request target, quoted once
        self._origin: Origin | None
        try:
            self._origin = parse_origin(channel.base_url)
        except ValueError:
            self._origin = None  # said on each request, as aiohttp did
        self._timeout: aiohttp.ClientTimeout | None = None  # built on the first call (it needs aiohttp)

    def auth_headers(self, secret: str) -> dict[str, str]:
        """The vendor's credential headers (and any other fixed ones it requires)."""
        raise NotImplementedError

    def _base_headers(self, stream: bool, secret: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": USER_AGENT,
        }
        if secret:
            headers.update(self.auth_headers(secret))
        return headers

    def headers_for(self, request: UpstreamRequest) -> dict[str, str]:
        """The fixed headers, plus the client headers the forwarding step passes on purpose (they win)."""
        headers = self._headers[request.stream]
        return {**headers, **request.headers} if request.headers else headers

    @staticmethod
    def _send_headers(headers: Mapping[str, str]) -> dict[str, str]:
        """The headers a model request carries: `headers`, and the encodings the lean client decodes unless
        `headers` names its own."""
        if any(name.lower() == "accept-encoding" for name in headers):
            return dict(headers)
        return {**headers, **ACCEPT_ENCODING}

    def _target(self, endpoint: str) -> bytes:
        target = self._targets.get(endpoint)
        if target is None:
            assert self._origin is not None
            path = quote(self._origin.prefix + endpoint, safe="/:@!$&'()*+,;=-._~%?")
            target = self._targets[endpoint] = path.encode("ascii")
        return target

    async def send(self, request: UpstreamRequest) -> H1Response:
        """A model request: POST the body to `base_url + endpoint`; back once the status and headers are in."""
        base_url = self._base_url
        if self._origin is None:
            detail = f"{base_url} is not an http(s) URL onegate can call"
            raise UpstreamConnectError(transport_message(UpstreamConnectError, detail, base_url))
        if request.headers:
            lines = encode_headers(self._send_headers(self.headers_for(request)))
        else:
            lines = self._header_lines[request.stream]
        body = request.pieces or (request.body,)
        pool = self._session_factory.pool()
        try:
            return await pool.request(self._origin, self._target(request.endpoint), lines, body, self.timeouts.connect)
        except UpstreamTransportError as exc:
            raise type(exc)(transport_message(type(exc), str(exc), base_url)) from exc.__cause__

    async def call(
        self,
        method: str,
        endpoint: str,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        url: str | None = None,
    ) -> AiohttpResponse:
        """Any request to the channel (the media adapters GET, DELETE, and send forms), with its credentials.
        `url`: an absolute URL instead of the base URL + `endpoint` (the caller decides what headers go there)."""
        from onegate.providers.aiohttp_calls import call, client_timeout

        session = self._session_factory.session()
        if self._timeout is None:
            self._timeout = client_timeout(self.timeouts)
        return await call(
            session,
            method,
            url or self._base_url + endpoint,
            self._base_url,
            self._timeout,
            data=data,
            headers=headers if headers is not None else self._headers[False],
            params=params,
        )

    @property
    def base_url(self) -> str:
        return self._base_url

    def headers_with(self, extra: Mapping[str, str]) -> dict[str, str]:
        """The channel's fixed headers (credentials included) with these added or replaced."""
        return {**self._headers[False], **extra}
