"""Admin authentication: a bearer token from `ONEGATE_ADMIN_TOKEN`; without it the admin API is off."""

from __future__ import annotations

import hmac

from onegate import errors
from onegate.context import RequestContext
from onegate.errors import GatewayError
from onegate.settings import Settings


def require_admin(ctx: RequestContext, settings: Settings) -> None:
    if not settings.admin_token:
        raise GatewayError(
            errors.ADMIN_DISABLED,
            "The admin API is disabled on this server: set ONEGATE_ADMIN_TOKEN in the server's environment "
            "and restart it to enable it.",
        )
    scheme, _, token = ctx.headers.get("authorization", "").strip().partition(" ")
    # constant-time comparison: the token is the whole admin credential
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), settings.admin_token.encode()):
        raise GatewayError(
            errors.ADMIN_AUTH_REQUIRED,
            "The admin API needs the header Authorization: Bearer <ONEGATE_ADMIN_TOKEN>.",
            headers={"www-authenticate": "Bearer"},
        )
