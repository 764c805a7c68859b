"""Alert webhooks: POST a JSON payload to a configured URL without becoming a way into private networks.

- Only globally routable addresses (`ipaddress.is_global`, plus IANA's non-global blocks an older Python
  still calls global: 100.64.0.0/10 shared/carrier NAT, 192.88.99.0/24 6to4 relays, documentation and
  benchmark nets). IPv6 that embeds IPv4 (mapped `::ffff:a.b.c.d`, 6to4 `2002::/16`, NAT64 `64:ff9b::/96`)
  is judged by the IPv4 inside; IPv4-compatible `::a.b.c.d` and local-use NAT64 are refused.
- The name is resolved once, every answer is checked, and the connection goes to that checked address
  (a pinned resolver), so a DNS answer that changes between the check and the connect (rebinding) does
  not matter. No redirects are followed, no proxy from the environment is used, timeouts are short.
- `webhook_allow_networks` lets chosen private networks through; `webhook_allow_private` lets all through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], Awaitable[list[str]]]

# Blocks some Python versions' is_global still lets through (it was corrected in 3.12.4 / 3.11.10).
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # shared address space (carrier NAT; cloud metadata such as 100.100.100.200)
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "::/96",  # IPv4-compatible (deprecated): never a real public host
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class WebhookRefused(OSError):
    """The webhook address is not public and the config does not allow it."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, well-known NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_address(address: str) -> IPAddress:
    return ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (`fe80::1%eth0`) is not part of it


def is_public(address: str | IPAddress) -> bool:
    """Globally routable, and so is any IPv4 address it embeds. Raises ValueError for a non-address."""
    ip = parse_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return is_public(inner)
    return (
        ip.is_global and not ip.is_multicast and not any(ip in net for net in _NOT_GLOBAL if net.version == ip.version)
    )


def egress_allowed(address: str, allow_networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """May a webhook connect to `address`: public, or inside a network the operator allowed."""
    ip = parse_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return is_public(ip) or any(ip in net for net in allow_networks if net.version == ip.version)


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`, in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PinnedResolver(AbstractResolver):
    """Answers every lookup with the one address already checked: the connection cannot go elsewhere."""

    def __init__(self, address: str) -> None:
        self._address = address

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        ip = parse_address(self._address)
        result: ResolveResult = {
            "hostname": host,
            "host": str(ip),
            "port": port,
            "family": socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
            "proto": 0,
            "flags": socket.AI_NUMERICHOST,
        }
        return [result]

    async def close(self) -> None:
        pass


async def post_webhook(
    url: str,
    payload: dict[str, Any],
    allow_private: bool,
    timeout: float = 5.0,
    allow_networks: Iterable[str] = (),
    resolve: Resolve = system_resolve,
) -> str:
    """POST `payload`; returns a short status for the alert row ("200", "refused: …", "failed: …")."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    networks = [ipaddress.ip_network(n, strict=False) for n in allow_networks]
    try:
        try:
            addresses = [str(parse_address(host))]
        except ValueError:  # a name: resolved here, once
            addresses = await resolve(host, port) if host else []
        if not addresses:
            return f"failed: {host or url} has no address"
        if not allow_private:
            refused = [a for a in addresses if not egress_allowed(a, networks)]
            if refused:
                shown = host if refused[0] == host else f"{host} resolves to {refused[0]}, which"
                raise WebhookRefused(f"{shown} is not a public address")
        connector = aiohttp.TCPConnector(resolver=PinnedResolver(addresses[0]), use_dns_cache=False)
        limits = aiohttp.ClientTimeout(total=timeout, sock_connect=min(3.0, timeout))
        async with (
            aiohttp.ClientSession(connector=connector, timeout=limits, trust_env=False) as session,
            session.post(url, json=payload, allow_redirects=False) as response,
        ):
            return str(response.status)
    except WebhookRefused as exc:
        return f"refused: {exc}"
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return f"failed: {exc.__class__.__name__}: {exc}"
