"""`GET /console` and every path under it (the app's own router reads `location.pathname`) answer the shell;
`GET /console/static/…` answers a file of the app. Neither needs a sign-in: the data comes from the
management API, which checks the session on every call."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from onegate.console.assets import (
    CSP,
    PREFIX,
    REVALIDATE,
    accepts_gzip,
    compressible,
    etag_of,
    find_asset,
    gzip_etag,
    gzipped,
    shell_path,
)

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
    path = shell_path()
    await _send(ctx, responder, path, HTML, REVALIDATE, etag_of(path))


async def static_file(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    asset = find_asset(ctx.path)
    if asset is None:
        await responder.send_body(404, b"not found\n", b"text/plain; charset=utf-8", {"cache-control": "no-store"})
        return
    await _send(ctx, responder, asset.path, asset.content_type, asset.cache_control, asset.etag)


async def _send(
    ctx: RequestContext, responder: Responder, path: Path, content_type: bytes, cache: str, etag: str
) -> None:
    headers = {**HEADERS, "cache-control": cache}
    compress = compressible(path)
    if compress:
        headers["vary"] = "accept-encoding"
        compress = accepts_gzip(ctx.headers.get("accept-encoding", ""))
    if compress:
        etag = gzip_etag(etag)
        headers["content-encoding"] = "gzip"
    headers["etag"] = etag
    if ctx.headers.get("if-none-match") == etag:  # the browser's copy is current
        await responder.send_body(304, b"", content_type, headers)
        return
    body = await asyncio.to_thread(gzipped, path, etag) if compress else await asyncio.to_thread(path.read_bytes)
    await responder.send_body(200, body, content_type, headers)
