"""Admin API endpoints. Today: `GET /admin/api/setup/CLIENT[?key_id=ID&lang=zh]`, a setup guide as JSON."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from onegate import errors
from onegate.admin.auth import require_admin
from onegate.asgi import Receive, Responder
from onegate.errors import GatewayError
from onegate.i18n.catalog import request_lang
from onegate.setup.guides import UnknownClient, build_guide
from onegate.setup.inputs import guide_input_for
from onegate.setup.render import as_json
from onegate.store.keys import list_keys

if TYPE_CHECKING:
    from onegate.context import RequestContext
    from onegate.server.services import Services


async def setup_guide(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await require_admin(ctx, svc.settings, svc.keys.failures)
    path, _, query = ctx.path.partition("?")
    client = path.rstrip("/").rsplit("/", 1)[-1]
    key_id = (parse_qs(query).get("key_id") or [""])[0]
    key = None
    if key_id:
        keys = await asyncio.to_thread(list_keys, svc.engine)
        key = next((k for k in keys if str(k.id) == key_id), None)
        if key is None:
            raise GatewayError(errors.NOT_FOUND, f"No key with id {key_id}.")
    guide_input = guide_input_for(
        svc.settings.public_root(ctx.headers),
        svc.registry.chat_names,
        key,
        request_lang(ctx.path, ctx.headers),
        svc.served,
    )
    try:
        guide = build_guide(client, guide_input)
    except UnknownClient as exc:
        raise GatewayError(errors.NOT_FOUND, str(exc)) from None
    await responder.send_body(200, as_json(guide))
