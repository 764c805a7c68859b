"""A request's charge: the ledger row the writer stores with its log row.

Its entry id is the request id and the serving attempt, so writing it twice (a replayed journal, a
retried batch) charges once; a request that cost nothing has no charge.
"""

from __future__ import annotations

from onegate.context import RequestContext
from onegate.store.rows import Charge


def charge_for(ctx: RequestContext) -> Charge | None:
    if not ctx.cost_micros or ctx.key is None:
        return None
    attempt = max(0, len(ctx.attempts) - 1)  # the attempt that served the answer; earlier ones cost nothing
    return Charge(
        f"{ctx.request_id}:{attempt}",  # entry_id
        "charge",  # kind
        ctx.key.team_id,  # team_id
        ctx.key.id,  # key_id
        ctx.request_id,  # request_id
        ctx.model_requested,  # model
        -ctx.cost_micros,  # amount_micros
        ctx.created_at,  # created_at
    )
