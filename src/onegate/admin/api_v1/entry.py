"""The route-table entry for `/admin/api/v1/…`: picks the running gateway's parts the API uses, once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from onegate.admin.api_v1.deps import AdminDeps
from onegate.admin.api_v1.server import serve
from onegate.server.http import Receive, Responder

if TYPE_CHECKING:
    from onegate.app import Gateway
    from onegate.context import RequestContext

_DEPS: dict[int, AdminDeps] = {}


def deps_of(gw: Gateway) -> AdminDeps:
    deps = _DEPS.get(id(gw))
    if deps is None or deps.engine is not gw.engine:
        settings = gw.settings

        async def announce(topic: str) -> None:
            await gw.directory.refresh(topic)
            if settings.redis_url:
                import asyncio

                from onegate.counters.pubsub import publish_change

                await asyncio.to_thread(publish_change, settings.redis_url, settings.redis_prefix, topic)

        from onegate.server.pages import served_endpoints

        deps = AdminDeps(
            engine=gw.engine,
            settings=settings,
            refresh=gw.directory.refresh,
            announce=announce,
            channels=gw.channels,
            channel_configs={c.name: c for c in settings.channels},
            probe_targets=gw.registry.channels,
            model_names=lambda: list(gw.registry.names),
            failures=gw.keys.failures,
            served=served_endpoints(),
        )
        _DEPS[id(gw)] = deps
    return deps


async def admin_api(gw: Gateway, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await serve(deps_of(gw), ctx, responder, receive)
