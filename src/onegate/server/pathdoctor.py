"""What happens to a request no route serves: diagnose the path, then serve the intended endpoint or refuse.

With `path_policy: lenient` (the default) a path whose intent is unambiguous (`/api/v1/v1/chat/completions`)
is served by the canonical endpoint and flagged: `ctx.config_hint` goes to the request log and the
`x-onegate-hint` header, the fix to the log's notes. With `strict`, or when the intent is ambiguous or not
served here, the answer is a 404 in the caller's dialect naming the client, the path and the base URL to
set. An API-shaped request never gets HTML or a 200 page. This module diagnoses; `server/routes.py`
(`route_misconfigured`) looks up the endpoint that serves the intended path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from onegate import errors
from onegate.diagnosis.paths import PathFinding, diagnose_path, shown_path
from onegate.errors import GatewayError
from onegate.surfaces import SURFACE_OF_FAMILY

if TYPE_CHECKING:
    from onegate.context import RequestContext
    from onegate.settings import Settings


def diagnose_misrouted(ctx: RequestContext, settings: Settings, path: str, query: str, path_known: bool) -> PathFinding:
    """The finding for a path no route serves, noted on `ctx`; raises the 404 (or 405) when there is none."""
    if path_known:
        raise GatewayError(errors.METHOD_NOT_ALLOWED, f"{ctx.method} is not allowed on {path}.")
    root = settings.public_root(ctx.headers)
    finding = diagnose_path(ctx.method, path, query, ctx.headers, ctx.client, root)
    if finding is None:
        raise GatewayError(
            errors.UNKNOWN_PATH,
            f"Invalid URL ({ctx.method} {shown_path(path, query)}). Set your client's base URL to {root}/api/v1 "
            "(OpenAI-style clients append /chat/completions, /models … to it).",
        )
    ctx.config_hint, ctx.config_fix = finding.code, finding.fix
    ctx.dialect = SURFACE_OF_FAMILY[finding.family]
    return finding
