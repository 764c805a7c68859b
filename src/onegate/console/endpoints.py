"""`GET /console` and every path under it (the app's own router reads `location.pathname`) answer the shell;
`GET /console/static/…` answers a file of the app. Neither needs a sign-in: the data comes from the
management API, which checks the session on every call."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from onegate.console.assets import CSP, PREFIX, REVALIDATE, find_asset, shell_path

if TYPE_CHECKING:
    from onegate.asgi import Receive, Responder
    from onegate.context import RequestContext
    from onegate.server.services import Services

HTML = b"text/html; charset=utf-8"
HEADERS = {"content-security-policy": CSP}


async def shell(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    if ctx.path.partition("?")[0].startswith(PREFIX):
        await static_file(svc, ctx, responder, receive)
        return
    body = await asyncio.to_thread(shell_path().read_bytes)
    await responder.send_body(200, body, HTML, {**HEADERS, "cache-control": REVALIDATE})


async def static_file(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    asset = find_asset(ctx.path)
    if asset is None:
        await responder.send_body(404, b"not found\n", b"text/plain; charset=utf-8", {"cache-control": "no-store"})
        return
    body = await asyncio.to_thread(asset.path.read_bytes)
    await responder.send_body(200, body, asset.content_type, {**HEADERS, "cache-control": asset.cache_control})
