"""Alert webhooks: POST a JSON payload, refusing private addresses unless the config allows them.

The check runs on the resolved addresses (a public name that resolves to 10.x is refused too).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver


class WebhookRefused(OSError):
    """The webhook address is not public and the config does not allow private ones."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


class PublicOnlyResolver(AbstractResolver):
    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        found = await self._inner.resolve(host, port, family)
        for info in found:
            if not is_public(info["host"]):
                raise WebhookRefused(f"{host} resolves to {info['host']}, which is not a public address")
        return found

    async def close(self) -> None:
        await self._inner.close()


async def post_webhook(url: str, payload: dict[str, Any], allow_private: bool, timeout: float = 5.0) -> str:
    """POST `payload`; returns a short status for the alert row ("200", "refused: …", "failed: …")."""
    host = urlsplit(url).hostname or ""
    try:
        if not allow_private:
            try:
                literal = not is_public(host)
            except ValueError:
                literal = False  # a name, checked by the resolver
            if literal:
                raise WebhookRefused(f"{host} is not a public address")
        connector = aiohttp.TCPConnector(resolver=None if allow_private else PublicOnlyResolver())
        async with (
            aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(url, json=payload, allow_redirects=False) as response,
        ):
            return str(response.status)
    except WebhookRefused as exc:
        return f"refused: {exc}"
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        for cause in (exc.__cause__, getattr(exc, "os_error", None)):  # aiohttp wraps the resolver's refusal
            if isinstance(cause, WebhookRefused):
                return f"refused: {cause}"
        return f"failed: {exc.__class__.__name__}: {exc}"
