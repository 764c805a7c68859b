"""The route table: a normalised path and a method → the dialect and the endpoint that serve it.

`/api/v1/...` is canonical and `/v1/...` its alias. Query strings never matter (`?beta=true`), and
duplicate or trailing slashes are forgiven. Paths no route serves go to `server/pathdoctor.py`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from onegate.admin import api as admin_api
from onegate.observe import endpoints as observe_endpoints
from onegate.server import anthropic_endpoints, endpoints, pages, responses_endpoints

if TYPE_CHECKING:
    from onegate.app import Gateway
    from onegate.context import RequestContext
    from onegate.server.http import Receive, Responder

Handler = Callable[["Gateway", "RequestContext", "Responder", "Receive"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    dialect: str
    logged: bool = True  # health checks and pages are not request-log rows


def by_caller(openai: Handler, anthropic: Handler) -> Handler:
    """One path, two shapes: Anthropic's clients (see `speaks_anthropic`) get Anthropic's answer."""

    async def handler(gw: Gateway, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
        chosen = anthropic if anthropic_endpoints.speaks_anthropic(ctx.headers) else openai
        await chosen(gw, ctx, responder, receive)

    return handler


API_ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/chat/completions"): Route(endpoints.chat_completions, "openai_chat"),
    ("POST", "/completions"): Route(endpoints.completions, "openai_completions"),
    ("POST", "/embeddings"): Route(endpoints.embeddings, "openai_embeddings"),
    ("POST", "/responses"): Route(responses_endpoints.create_response, "openai_responses"),
    ("GET", "/models"): Route(by_caller(endpoints.list_models, anthropic_endpoints.list_models), "openai_models"),
    ("POST", "/messages"): Route(anthropic_endpoints.messages, "anthropic_messages"),
    ("POST", "/messages/count_tokens"): Route(anthropic_endpoints.count_tokens, "anthropic_count_tokens"),
}
OPS_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/healthz"): Route(endpoints.healthz, "ops", logged=False),
    ("GET", "/readyz"): Route(observe_endpoints.readyz, "ops", logged=False),
    ("GET", "/metrics"): Route(observe_endpoints.metrics, "ops", logged=False),
    # Claude Code's connection warm-up on its base URL (`ANTHROPIC_BASE_URL=…/api`), without a key
    ("HEAD", "/api"): Route(anthropic_endpoints.warm_up, "ops", logged=False),
    ("GET", "/"): Route(pages.home, "page", logged=False),
}
# (method, path prefix, route): pages and the admin API whose last segment is a parameter
PREFIX_ROUTES: tuple[tuple[str, str, Route], ...] = (
    ("GET", "/setup/", Route(pages.setup_guide, "page", logged=False)),
    ("GET", "/admin/api/setup/", Route(admin_api.setup_guide, "admin")),  # logged: an audit trail
)
MODEL_ROUTE = Route(by_caller(endpoints.get_model, anthropic_endpoints.get_model), "openai_models")
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


def route_for_suffix(method: str, suffix: str) -> tuple[Route | None, bool]:
    """(route, suffix_known) for an endpoint suffix; known without a route means the method is wrong."""
    route = API_ROUTES.get((method, suffix))
    if route:
        return route, True
    if suffix.startswith("/models/") and len(suffix) > len("/models/"):
        return (MODEL_ROUTE, True) if method == "GET" else (None, True)
    return None, any(p == suffix for _, p in API_ROUTES)


def match(method: str, raw_path: str) -> tuple[Route | None, bool]:
    """(route, path_known). path_known without a route means the method is wrong."""
    path = normalise(raw_path)
    route = OPS_ROUTES.get((method, path))
    if route:
        return route, True
    suffix = api_suffix(path)
    if suffix is None:
        for route_method, prefix, route in PREFIX_ROUTES:
            if route_method == method and path.startswith(prefix) and len(path) > len(prefix):
                return route, True
        return None, any(p == path and r.dialect == "ops" for (_, p), r in OPS_ROUTES.items())
    return route_for_suffix(method, suffix)
