"""Browser pages: `GET /` (the base URLs to use, links to the guides) and `/setup/CLIENT` (one guide).

They show only what any visitor may know: the public address and the built-in test model; the models a
key may use come from `GET /api/v1/models` with that key, or the admin API. An API-shaped request to
`/` (a key in its headers) is a misconfigured client and gets the diagnosed JSON 404, never this HTML
(`server/routes.py` checks before `home` runs).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from onegate import errors
from onegate.asgi import Receive, Responder
from onegate.errors import GatewayError
from onegate.i18n.catalog import request_lang, text
from onegate.setup.guides import GuideInput, UnknownClient, build_guide
from onegate.setup.render import as_html, guide_links, page

if TYPE_CHECKING:
    from onegate.context import RequestContext
    from onegate.server.services import Services

HTML = b"text/html; charset=utf-8"


async def home(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    lang = request_lang(ctx.path, ctx.headers)
    root = svc.settings.public_root(ctx.headers)
    body = (
        f"<h1>onegate</h1><p>{escape(text('page.home.intro', lang))}</p><table>"
        f"<tr><td>{escape(text('page.home.openai', lang))}</td><td><code>{escape(root)}/api/v1</code></td></tr>"
        f"<tr><td>{escape(text('page.home.anthropic', lang))}</td><td><code>{escape(root)}/api</code></td></tr>"
        f"<tr><td>{escape(text('page.home.test_model', lang))}</td>"
        f"<td><code>{escape(svc.settings.selftest_model)}</code></td></tr></table>"
        f"<p>{escape(text('page.home.models', lang, base=root + '/api/v1'))}</p>"
        f"{guide_links(lang)}"
    )
    await responder.send_body(200, page("onegate", body, lang), HTML)


async def setup_guide(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    lang = request_lang(ctx.path, ctx.headers)
    client = ctx.path.partition("?")[0].rstrip("/").rsplit("/", 1)[-1]
    guide_input = GuideInput(
        svc.settings.public_root(ctx.headers), (svc.settings.selftest_model,), lang, served=svc.served
    )
    try:
        guide = build_guide(client, guide_input)
    except UnknownClient as exc:
        raise GatewayError(errors.UNKNOWN_PATH, str(exc)) from None
    await responder.send_body(200, as_html(guide), HTML)
