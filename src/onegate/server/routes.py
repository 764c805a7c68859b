"""The route table: a normalised path and a method → the dialect and the endpoint that serve it.

`/api/v1/...` is canonical and `/v1/...` its alias. Query strings never matter (`?beta=true`), and
duplicate or trailing slashes are forgiven. Paths no route serves go to `server/pathdoctor.py`.
The table is the top of the handler floor: it imports every handler (admin's too; what a model request never
needs, on its first call), no handler imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import import_module

from onegate import errors
from onegate.asgi import Receive, Responder
from onegate.context import RequestContext
from onegate.diagnosis.paths import is_api_shaped
from onegate.errors import GatewayError
from onegate.observe import endpoints as observe_endpoints
from onegate.server import anthropic_endpoints, endpoints, responses_endpoints
from onegate.server.pathdoctor import diagnose_misrouted
from onegate.server.services import Handler, Services
from onegate.settings import Settings
from onegate.surfaces import SurfaceId


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What serves one method and path: the handler, and the surface the caller is answered in."""

    handler: Handler
    dialect: SurfaceId
    logged: bool = True  # health checks and pages are not request-log rows


def by_caller(openai: Handler, anthropic: Handler) -> Handler:
    """One path, two shapes: Anthropic's clients (see `speaks_anthropic`) get Anthropic's answer."""

    async def handler(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
        chosen = anthropic if anthropic_endpoints.speaks_anthropic(ctx.headers) else openai
        await chosen(svc, ctx, responder, receive)

    return handler


# Pages, the console and the management API are imported on their first call: a model request never needs
# them, and importing them at start cost instructions before the first answer (callgrind, bench/startup.py:
# the management API was 8% of what `onegate serve` spent on its imports; pages, guides and console
# 34 M of 1,626 M from spawn to the first answer; image and video endpoints another 12 M; the balance endpoints
# import SQLAlchemy, which `onegate serve` loads after its first answer: cli/launch.py).
async def admin_api_v1(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    from onegate.admin.api_v1.entry import admin_api

    await admin_api(svc, ctx, responder, receive)


async def admin_setup_guide(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    from onegate.admin.api import setup_guide

    await setup_guide(svc, ctx, responder, receive)


async def console_shell(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    from onegate.console.endpoints import shell

    await shell(svc, ctx, responder, receive)


async def setup_guide(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    from onegate.server.pages import setup_guide

    await setup_guide(svc, ctx, responder, receive)


def on_first_call(module: str, name: str) -> Handler:
    """`module.name`, imported on the first request it serves."""

    async def handler(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
        await getattr(import_module(module), name)(svc, ctx, responder, receive)

    return handler


def images(name: str) -> Handler:
    return on_first_call("onegate.media.images", name)  # the request then waits seconds upstream


def videos(name: str) -> Handler:
    return on_first_call("onegate.media.videos", name)


def balances(name: str) -> Handler:
    return on_first_call("onegate.server.balance_endpoints", name)


async def home(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    """`GET /`: an API-shaped request there is a misconfigured client, diagnosed before any HTML is sent."""
    if is_api_shaped(ctx.method, "/", ctx.headers):
        route_misconfigured(ctx, svc.settings, "/", ctx.path.partition("?")[2], False)
    from onegate.server.pages import home

    await home(svc, ctx, responder, receive)


API_ROUTES: dict[tuple[str, str], Endpoint] = {
    ("POST", "/chat/completions"): Endpoint(endpoints.chat_completions, "openai_chat"),
    ("POST", "/completions"): Endpoint(endpoints.completions, "openai_completions"),
    ("POST", "/embeddings"): Endpoint(endpoints.embeddings, "openai_embeddings"),
    ("POST", "/responses"): Endpoint(responses_endpoints.create_response, "openai_responses"),
    ("GET", "/models"): Endpoint(by_caller(endpoints.list_models, anthropic_endpoints.list_models), "openai_models"),
    ("POST", "/messages"): Endpoint(anthropic_endpoints.messages, "anthropic_messages"),
    ("POST", "/messages/count_tokens"): Endpoint(anthropic_endpoints.count_tokens, "anthropic_count_tokens"),
    ("POST", "/images/generations"): Endpoint(images("generations"), "openai_images"),
    ("POST", "/images/edits"): Endpoint(images("edits"), "openai_images"),
    ("POST", "/videos"): Endpoint(videos("create"), "openai_videos"),
    ("GET", "/videos"): Endpoint(videos("list_videos"), "openai_videos", logged=False),  # free reads: polled often
    # what a key may still spend, in the shapes clients already read (not request-log rows)
    ("GET", "/key"): Endpoint(balances("key_info"), "openai_models", logged=False),
    ("GET", "/auth/key"): Endpoint(balances("key_info"), "openai_models", logged=False),
    ("GET", "/dashboard/billing/subscription"): Endpoint(
        balances("billing_subscription"), "openai_models", logged=False
    ),
    ("GET", "/dashboard/billing/usage"): Endpoint(balances("billing_usage"), "openai_models", logged=False),
}
# `/videos/{id}` and below: (method, what follows the id) → endpoint
VIDEO_ROUTES: dict[tuple[str, str], Endpoint] = {
    ("GET", ""): Endpoint(videos("retrieve"), "openai_videos", logged=False),
    ("DELETE", ""): Endpoint(videos("delete"), "openai_videos"),
    ("GET", "/content"): Endpoint(videos("content"), "openai_videos"),
    ("POST", "/remix"): Endpoint(videos("remix"), "openai_videos"),
}
OPS_ROUTES: dict[tuple[str, str], Endpoint] = {
    ("GET", "/healthz"): Endpoint(endpoints.healthz, "ops", logged=False),
    ("GET", "/readyz"): Endpoint(observe_endpoints.readyz, "ops", logged=False),
    ("GET", "/metrics"): Endpoint(observe_endpoints.metrics, "ops", logged=False),
    # Claude Code's connection warm-up on its base URL (`ANTHROPIC_BASE_URL=…/api`), without a key
    ("HEAD", "/api"): Endpoint(anthropic_endpoints.warm_up, "ops", logged=False),
    ("GET", "/"): Endpoint(home, "page", logged=False),
    ("GET", "/console"): Endpoint(console_shell, "console", logged=False),
}
# (method, path prefix, route): pages and the admin API whose last segment is a parameter
PREFIX_ROUTES: tuple[tuple[str, str, Endpoint], ...] = (
    ("GET", "/setup/", Endpoint(setup_guide, "page", logged=False)),
    # the console's deep links (its router reads the path) and its files under /console/static/
    ("GET", "/console/", Endpoint(console_shell, "console", logged=False)),
    ("GET", "/admin/api/setup/", Endpoint(admin_setup_guide, "admin")),  # logged: an audit trail
    ("*", "/admin/api/v1/", Endpoint(admin_api_v1, "admin", logged=False)),  # every method: its own table
)
MODEL_ROUTE = Endpoint(by_caller(endpoints.get_model, anthropic_endpoints.get_model), "openai_models")
SERVED = frozenset(suffix for _, suffix in API_ROUTES)  # for guides that warn when a client's endpoint is missing
API_PREFIXES = ("/api/v1", "/v1")
_SLASHES = re.compile(r"/{2,}")


def normalise(path: str) -> str:
    if "//" in path:
        path = _SLASHES.sub("/", path)
    return path.rstrip("/") or "/"


def api_suffix(path: str) -> str | None:
    """The endpoint part of an API path (`/chat/completions`), or None outside the API prefixes."""
    for prefix in API_PREFIXES:
        if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
            return path[len(prefix) :] or "/"
    return None


def route_for_suffix(method: str, suffix: str) -> tuple[Endpoint | None, bool]:
    """(route, suffix_known) for an endpoint suffix; known without a route means the method is wrong."""
    route = API_ROUTES.get((method, suffix))
    if route:
        return route, True
    if suffix.startswith("/models/") and len(suffix) > len("/models/"):
        return (MODEL_ROUTE, True) if method == "GET" else (None, True)
    if suffix.startswith("/videos/") and len(suffix) > len("/videos/"):
        rest = suffix[len("/videos/") :].partition("/")[2]
        tail = "/" + rest if rest else ""
        route = VIDEO_ROUTES.get((method, tail))
        return route, route is not None or any(t == tail for _, t in VIDEO_ROUTES)
    return None, any(p == suffix for _, p in API_ROUTES)


def match(method: str, raw_path: str) -> tuple[Endpoint | None, bool]:
    """(route, path_known). path_known without a route means the method is wrong."""
    path = normalise(raw_path)
    route = OPS_ROUTES.get((method, path))
    if route:
        return route, True
    suffix = api_suffix(path)
    if suffix is None:
        for route_method, prefix, route in PREFIX_ROUTES:
            if route_method in (method, "*") and path.startswith(prefix) and len(path) > len(prefix):
                return route, True
        return None, any(p == path and r.dialect == "ops" for (_, p), r in OPS_ROUTES.items())
    return route_for_suffix(method, suffix)


def route_misconfigured(ctx: RequestContext, settings: Settings, path: str, query: str, path_known: bool) -> Endpoint:
    """The endpoint to serve a misconfigured but unambiguous path with; raises the diagnosed 404 otherwise."""
    finding = diagnose_misrouted(ctx, settings, path, query, path_known)
    endpoint = route_for_suffix(ctx.method, finding.suffix)[0] if finding.suffix else None
    if endpoint is not None and settings.path_policy == "lenient":
        ctx.dialect = endpoint.dialect
        ctx.notes.append(f"{finding.code}: served as {finding.suffix}. {finding.fix}")
        return endpoint
    raise GatewayError(errors.UNKNOWN_PATH, finding.message)
