"""Browser pages: `GET /` (the base URLs to use, links to the guides) and `/setup/CLIENT` (one guide).

They show only what any visitor may know: the public address and the built-in test model; the models a
key may use come from `GET /api/v1/models` with that key, or the admin API. An API-shaped request to
`/` (a key in its headers) is a misconfigured client and gets the diagnosed JSON 404, never this HTML.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from onegate import errors
from onegate.diagnosis.paths import is_api_shaped
from onegate.errors import GatewayError
from onegate.i18n.catalog import normalise_lang, text
from onegate.server.http import Receive, Responder
from onegate.setup.guides import GuideInput, UnknownClient, build_guide
from onegate.setup.render import as_html, guide_links, page, style_hash

if TYPE_CHECKING:
    from onegate.app import Gateway
    from onegate.context import RequestContext

HTML = b"text/html; charset=utf-8"
# The pages are self-contained: one inline stylesheet (allowed by its hash), no scripts, no other sources.
PAGE_CSP = (
    f"default-src 'none'; style-src '{style_hash()}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
).encode()


def served_endpoints() -> frozenset[str]:
    """The endpoint suffixes this server serves, for guides that warn when a client's endpoint is missing."""
    from onegate.server.routes import API_ROUTES  # the route table imports this module

    return frozenset(suffix for _, suffix in API_ROUTES)


def request_lang(ctx: RequestContext) -> str:
    """`?lang=zh|en`, else the browser's Accept-Language."""
    query = parse_qs(ctx.path.partition("?")[2])
    return normalise_lang((query.get("lang") or [ctx.headers.get("accept-language", "")])[0])


async def home(gw: Gateway, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    if is_api_shaped(ctx.method, "/", ctx.headers):
        from onegate.server.pathdoctor import route_misconfigured  # the route table imports this module

        route_misconfigured(ctx, gw.settings, "/", ctx.path.partition("?")[2], False)
    lang = request_lang(ctx)
    root = gw.settings.public_root(ctx.headers)
    body = (
        f"<h1>onegate</h1><p>{escape(text('page.home.intro', lang))}</p><table>"
        f"<tr><td>{escape(text('page.home.openai', lang))}</td><td><code>{escape(root)}/api/v1</code></td></tr>"
        f"<tr><td>{escape(text('page.home.anthropic', lang))}</td><td><code>{escape(root)}/api</code></td></tr>"
        f"<tr><td>{escape(text('page.home.test_model', lang))}</td>"
        f"<td><code>{escape(gw.settings.selftest_model)}</code></td></tr></table>"
        f"<p>{escape(text('page.home.models', lang, base=root + '/api/v1'))}</p>"
        f"{guide_links(lang)}"
    )
    await responder.send_body(200, page("onegate", body, lang), HTML)


async def setup_guide(gw: Gateway, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    lang = request_lang(ctx)
    client = ctx.path.partition("?")[0].rstrip("/").rsplit("/", 1)[-1]
    guide_input = GuideInput(
        gw.settings.public_root(ctx.headers), (gw.settings.selftest_model,), lang, served=served_endpoints()
    )
    try:
        guide = build_guide(client, guide_input)
    except UnknownClient as exc:
        raise GatewayError(errors.UNKNOWN_PATH, str(exc)) from None
    await responder.send_body(200, as_html(guide), HTML)
