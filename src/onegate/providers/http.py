"""What every vendor reached over HTTP shares: one pooled aiohttp session, timeouts, and the mapping of
transport failures onto the provider protocol's exceptions. A vendor class only says which headers."""

from __future__ import annotations

import os
from collections.abc import Mapping

import aiohttp

from onegate import __version__
from onegate.providers.protocol import UpstreamBroken, UpstreamConnectError, UpstreamRequest, UpstreamTimeout
from onegate.settings import ChannelConfig, Timeouts

USER_AGENT = f"onegate/{__version__}"


class AiohttpResponse:
    __slots__ = ("_response", "status", "headers")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
            raise UpstreamBroken(str(exc) or type(exc).__name__) from exc
        except TimeoutError as exc:
            raise UpstreamTimeout("the upstream stopped sending") from exc
        finally:
            self._response.release()

    async def next_chunk(self) -> bytes | None:
        try:
            # readany() keeps unread data in the buffer when cancelled, so a keep-alive timer may interrupt it
            return await self._response.content.readany() or None
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
            raise UpstreamBroken(str(exc) or type(exc).__name__) from exc
        except TimeoutError as exc:
            raise UpstreamTimeout("the upstream stopped sending") from exc

    def close(self) -> None:
        # close, not release: an unfinished stream must stop generating (and billing) upstream
        self._response.close()


class SessionFactory:
    """One pooled client session per process, created inside the running event loop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class HttpChannel:
    """A configured channel reached over HTTP: POST `base_url + endpoint` with the vendor's headers."""

    dialect: str
    native_dialects: frozenset[str]

    def __init__(self, channel: ChannelConfig, session_factory: SessionFactory) -> None:
        self.name = channel.name
        self.timeouts: Timeouts = channel.timeouts
        self._base_url = channel.base_url
        self._session_factory = session_factory
        self._api_key_env = channel.api_key_env
        self._timeout = aiohttp.ClientTimeout(
            total=channel.timeouts.total,
            sock_connect=channel.timeouts.connect,
            sock_read=max(channel.timeouts.idle, channel.timeouts.first_byte),
        )

    def secret(self) -> str:
        """The channel's key, read at request time so a rotated secret needs no restart; never logged."""
        return os.environ.get(self._api_key_env, "") if self._api_key_env else ""

    def headers(self, request: UpstreamRequest) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if request.stream else "application/json",
            "User-Agent": USER_AGENT,
        }

    async def send(self, request: UpstreamRequest) -> AiohttpResponse:
        session = self._session_factory.session()
        url = self._base_url + request.endpoint
        try:
            response = await session.post(url, data=request.body, headers=self.headers(request), timeout=self._timeout)
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamConnectError(f"cannot connect to {self._base_url}: {exc.os_error or exc}") from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise UpstreamBroken(f"{self._base_url} closed the connection: {exc}") from exc
        except TimeoutError as exc:
            raise UpstreamTimeout(f"{self._base_url} did not answer in time") from exc
        return AiohttpResponse(response)
