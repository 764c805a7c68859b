"""`GET /readyz` and `GET /metrics`: the route table's handlers for probes and scrapers."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import orjson

from onegate import errors
from onegate.admin.auth import require_admin
from onegate.errors import GatewayError

if TYPE_CHECKING:
    from onegate.asgi import Receive, Responder
    from onegate.context import RequestContext
    from onegate.server.services import Services


async def readyz(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    """200 when this instance can serve, else 503; the body names each check (load balancers read the status)."""
    result = await svc.observer.readiness.check()
    await responder.send_body(200 if result.ready else 503, orjson.dumps(result.as_json()))


async def metrics(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    """Prometheus text format; from `metrics.allow_networks` as is, from anywhere else with the admin token."""
    collected = svc.observer.metrics
    if collected is None:
        raise GatewayError(
            errors.NOT_FOUND,
            "Metrics are off on this server: set metrics.enabled (or ONEGATE_METRICS=1) to serve them.",
        )
    if not _allowed(ctx.peer, svc.settings.metrics.allow_networks):
        await require_admin(ctx, svc.settings, svc.keys.failures)
    readiness = await svc.observer.readiness.check()  # cached: the probes' latencies ride along
    body = collected.exposition(readiness.checks)
    await responder.send_body(200, body, content_type=b"text/plain; version=0.0.4; charset=utf-8")


def _allowed(peer: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)
