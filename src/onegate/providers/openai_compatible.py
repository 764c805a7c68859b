"""Any OpenAI-compatible vendor (OpenAI, DeepSeek, Groq, vLLM, Ollama, OpenRouter, …) over pooled HTTP."""

from __future__ import annotations

import os
from collections.abc import Mapping

import aiohttp

from onegate import __version__
from onegate.providers.protocol import UpstreamBroken, UpstreamConnectError, UpstreamRequest, UpstreamTimeout
from onegate.settings import ChannelConfig, Timeouts

_USER_AGENT = f"onegate/{__version__}"
OPENAI_NATIVE = {"openai_chat", "openai_completions", "openai_embeddings"}


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


class OpenAICompatibleProvider:
    dialect = "openai_chat"

    def __init__(self, channel: ChannelConfig, session_factory: SessionFactory) -> None:
        self.name = channel.name
        self.timeouts: Timeouts = channel.timeouts
        self.native_dialects = frozenset(OPENAI_NATIVE | ({"openai_responses"} if channel.responses_api else set()))
        self._base_url = channel.base_url
        self._session_factory = session_factory
        self._api_key_env = channel.api_key_env
        self._headers = {False: self._build_headers(False), True: self._build_headers(True)}
        self._timeout = aiohttp.ClientTimeout(
            total=channel.timeouts.total,
            sock_connect=channel.timeouts.connect,
            sock_read=max(channel.timeouts.idle, channel.timeouts.first_byte),
        )

    def _build_headers(self, stream: bool) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": _USER_AGENT,
        }
        # The secret comes from the environment at start; it is never logged or shown.
        secret = os.environ.get(self._api_key_env, "") if self._api_key_env else ""
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        return headers

    def _headers_for(self, request: UpstreamRequest) -> dict[str, str]:
        headers = self._headers[request.stream]
        return {**headers, **request.headers} if request.headers else headers

    async def send(self, request: UpstreamRequest) -> AiohttpResponse:
        session = self._session_factory.session()
        url = self._base_url + request.endpoint
        try:
            response = await session.post(
                url, data=request.body, headers=self._headers_for(request), timeout=self._timeout
            )
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamConnectError(f"cannot connect to {self._base_url}: {exc.os_error or exc}") from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise UpstreamBroken(f"{self._base_url} closed the connection: {exc}") from exc
        except TimeoutError as exc:
            raise UpstreamTimeout(f"{self._base_url} did not answer in time") from exc
        return AiohttpResponse(response)


class SessionFactory:
    """One pooled client session per process, created inside the running event loop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=30)
            # No cookie jar: upstream APIs set no cookies we want, and the jar costs time on every response.
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=True, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
