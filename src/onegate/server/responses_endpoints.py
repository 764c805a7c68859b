"""The Responses API surface: `POST /responses`, and a prompt refusal of its WebSocket variant.

Channels that serve `/responses` themselves (`responses_api: true`) get the body with only `model` changed;
any other channel gets it translated to the dialect it speaks, and the answer translated back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from onegate.asgi import Receive, Responder
from onegate.context import RequestContext
from onegate.dialects.openai_responses.request import validate
from onegate.server.endpoints import proxy

if TYPE_CHECKING:
    from onegate.server.services import Services


async def create_response(svc: Services, ctx: RequestContext, responder: Responder, receive: Receive) -> None:
    await proxy(svc, ctx, responder, receive, validate)
