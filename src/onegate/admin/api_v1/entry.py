"""The route-table entry for `/admin/api/v1/…`: picks the running gateway's parts the API uses, once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from onegate.admin.api_v1.deps import AdminDeps
from onegate.admin.api_v1.server import serve
from onegate.asgi import Receive, Responder

if TYPE_CHECKING:
    from onegate.context import RequestContext
    from onegate.server.services import Services

_DEPS: dict[int, AdminDeps] = {}


def deps_of(svc: Services) -> AdminDeps:
    deps = _DEPS.get(id(svc))
    if deps is None or deps.engine is not svc.engine:
        settings = svc.settings

        async def announce(topic: str) -> None:
            await svc.refresh(topic)
            if settings.redis_url:
                import asyncio

                from onegate.counters.pubsub import publish_change

                await asyncio.to_thread(publish_change, settings.redis_url, settings.redis_prefix, topic)

        deps = AdminDeps(
            engine=svc.engine,
            settings=settings,
            refresh=svc.refresh,
            announce=announce,
            channels=svc.channels,
            channel_configs={c.name: c for c in settings.channels},
            probe_targets=svc.registry.channels,
            model_names=lambda: list(svc.registry.names),
            failures=svc.keys.failures,
            served=svc.served,
        )
        _DEPS[id(svc)] = deps
    return deps


async def admin_api(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await serve(deps_of(svc), ctx, responder, receive)
