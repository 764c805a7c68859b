"""Admin authentication: a bearer token from `ONEGATE_ADMIN_TOKEN`; without it the admin API is off.

A refused call is logged (a warning naming the address and path) and counts as a key failure from its
address: the same growing delay answers it, so the admin token is no easier to guess than a key.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import NoReturn

from onegate import errors
from onegate.context import RequestContext
from onegate.errors import GatewayError
from onegate.keys.failures import FailurePenalty
from onegate.settings import Settings

log = logging.getLogger("onegate.admin")


async def require_admin(ctx: RequestContext, settings: Settings, failures: FailurePenalty) -> None:
    if not settings.admin_token:
        await _refuse(
            ctx,
            failures,
            GatewayError(
                errors.ADMIN_DISABLED,
                "The admin API is disabled on this server: set ONEGATE_ADMIN_TOKEN in the server's environment "
                "and restart it to enable it.",
            ),
        )
    scheme, _, token = ctx.headers.get("authorization", "").strip().partition(" ")
    # constant-time comparison: the token is the whole admin credential
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), settings.admin_token.encode()):
        await _refuse(
            ctx,
            failures,
            GatewayError(
                errors.ADMIN_AUTH_REQUIRED,
                "The admin API needs the header Authorization: Bearer <ONEGATE_ADMIN_TOKEN>.",
                headers={"www-authenticate": "Bearer"},
            ),
        )


async def _refuse(ctx: RequestContext, failures: FailurePenalty, error: GatewayError) -> NoReturn:
    log.warning("admin call refused (%s): %s %s from %s", error.kind.code, ctx.method, ctx.path, ctx.peer or "?")
    delay = failures.record_failure(ctx.peer)
    if delay:
        await asyncio.sleep(delay)
    raise error
