"""Step 2: may this key make this request now? Model permission (key, team's model groups), then rate
limits (key and team: requests/min, tokens/min, in flight), the key's budget and the team's balance,
checked and reserved in one atomic step of the counters. Refusals: 403, 429 with Retry-After, 402.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from onegate import errors
from onegate.accounting.directory import Directory
from onegate.accounting.ledger import UNBILLED_DIALECTS
from onegate.accounting.pricing import estimate_micros
from onegate.accounting.reservations import Reservation, Reservations, limits_of
from onegate.accounting.usage import estimate_tokens
from onegate.apikeys import KeyRecord
from onegate.context import RequestContext
from onegate.counters.protocol import Admit, Limits, Refusal
from onegate.errors import GatewayError
from onegate.providers.registry import ModelEntry
from onegate.settings import AccountingConfig
from onegate.store.teams import TeamRecord

log = logging.getLogger("onegate.admit")
NO_LIMITS = Limits()
OUTPUT_LIMIT_FIELDS = ("max_completion_tokens", "max_tokens", "max_output_tokens")
NO_OUTPUT_DIALECTS = ("openai_embeddings",)


@dataclass(slots=True)
class Admission:
    config: AccountingConfig
    model_groups: dict[str, list[str]]
    directory: Directory
    reservations: Reservations


def check_model(key: KeyRecord, model: str) -> None:
    if not key.allows(model):
        allowed = ", ".join(key.models or ())
        raise GatewayError(
            errors.MODEL_NOT_ALLOWED,
            f"The key {key.mask} may not use the model '{model}'. It may use: {allowed}.",
            param="model",
        )


async def admit(
    admission: Admission,
    ctx: RequestContext,
    key: KeyRecord,
    entry: ModelEntry,
    body: dict[str, Any],
    size: int,
    amount: int | None = None,
    rid: str | None = None,
) -> None:
    """Check and reserve, or raise the refusal in the catalog's terms. `size`: the body's length in bytes;
    `amount`: the cost to reserve when the surface estimates it itself (images, video), else from tokens;
    `rid`: the reservation's name when the charge that settles it is not this request's (a video task's)."""
    check_model(key, entry.name)
    team = await _team_of(admission.directory, key)
    if team is not None:
        _check_team_model(admission.model_groups, team, entry.name)
    if ctx.dialect in UNBILLED_DIALECTS:
        return
    now = time.time()
    input_tokens = estimate_tokens(size)
    asked = _output_limit(body)
    output = 0 if ctx.dialect in NO_OUTPUT_DIALECTS else asked or admission.config.reserve_output_tokens
    if amount is None:
        amount = 0 if entry.price.free else estimate_micros(entry.price, input_tokens, output * _choices(body))
    key_limits, team_limits = limits_of(key, admission.config.key_limits), limits_of(team, admission.config.team_limits)
    if not amount and key_limits == team_limits == NO_LIMITS:
        return  # nothing to count and nothing to reserve: the counters are not asked
    period, period_end = await admission.directory.ensure_key_spend(key, now)
    request = Admit(
        rid=rid or ctx.request_id,
        now=now,
        expires=now + admission.reservations.ttl,
        amount=amount,
        tokens=input_tokens + (asked or 0),
        key_id=key.id,
        key_limits=key_limits,
        team_id=team.id if team else None,
        team_limits=team_limits,
        budget=key.budget_micros,
        period=period,
        period_ttl=period_end - now + 86400,
    )
    try:
        refusal = await admission.reservations.reserve(request)
        if refusal is not None and refusal.reason == "team_unknown" and team is not None:
            await admission.directory.load_team(team.id)
            refusal = await admission.reservations.reserve(request)
    except GatewayError:
        raise
    except Exception as exc:  # the counters are unreachable: refuse rather than spend blind
        log.warning("admission failed: counters unreachable (%s: %s)", exc.__class__.__name__, exc)
        raise GatewayError(
            errors.ACCOUNTING_UNAVAILABLE,
            "onegate cannot check limits and balances right now (its counter store is unreachable). Retry shortly.",
        ) from exc
    if refusal is not None:
        raise refusal_error(refusal, key, team, period_end)
    ctx.reservation = Reservation(
        request.rid, key.id, request.team_id, amount, request.tokens, now, period, request.period_ttl
    )


async def _team_of(directory: Directory, key: KeyRecord) -> TeamRecord | None:
    if key.team_id is None:
        return None
    team = directory.team(key.team_id) or await directory.load_team(key.team_id)
    if team is None or team.status != "active":
        state = "does not exist" if team is None else "is disabled"
        raise GatewayError(errors.KEY_DISABLED, f"The team of API key {key.mask} ({key.name}) {state}.")
    return team


def _check_team_model(groups: dict[str, list[str]], team: TeamRecord, model: str) -> None:
    if team.model_groups is None:
        return
    allowed = sorted({m for g in team.model_groups for m in groups.get(g, ())})
    if model not in allowed:
        raise GatewayError(
            errors.MODEL_NOT_ALLOWED,
            f"The team '{team.name}' may not use the model '{model}' (its model groups: "
            f"{', '.join(team.model_groups) or 'none'}). It may use: {', '.join(allowed) or 'no model'}.",
            param="model",
        )


def _output_limit(body: dict[str, Any]) -> int | None:
    for name in OUTPUT_LIMIT_FIELDS:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _choices(body: dict[str, Any]) -> int:
    n = body.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 128 else 1


_RATE_WHAT = {"rpm": "requests per minute", "tpm": "tokens per minute", "concurrent": "requests in flight"}


def refusal_error(refusal: Refusal, key: KeyRecord, team: TeamRecord | None, period_end: float) -> GatewayError:
    """The client's answer. Amounts are never shown: only whose money ran out, and what to do."""
    if refusal.reason == "team_balance":
        name = team.name if team else "?"
        return GatewayError(
            errors.INSUFFICIENT_QUOTA,
            f"The balance of team '{name}' cannot cover this request. Ask the team's administrator to top it "
            "up; retrying will not help until then.",
        )
    if refusal.reason == "key_budget":
        resets = datetime.fromtimestamp(period_end, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return GatewayError(
            errors.INSUFFICIENT_QUOTA,
            f"The {key.budget_period} budget of API key {key.mask} ({key.name}) is used up; it resets on "
            f"{resets}. The team balance is not the problem.",
        )
    scope, _, what = refusal.reason.partition("_")
    limits = key if scope == "key" else team
    limit = getattr(limits, what, None) if limits else None
    whose = f"API key {key.mask}" if scope == "key" else f"team '{team.name if team else '?'}'"
    shown = f" (limit {limit})" if limit else ""
    retry = max(1, int(refusal.retry_after))
    return GatewayError(
        errors.RATE_LIMITED,
        f"Rate limit reached for {whose}: {_RATE_WHAT.get(what, what)}{shown}. Retry after {retry} s.",
        headers={"retry-after": str(retry)},
    )
