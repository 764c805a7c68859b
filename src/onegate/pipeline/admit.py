"""Step 2: may this key make this request now? Model permission (key, team's model groups), then rate
limits (key and team: requests/min, tokens/min, in flight), the key's budget and the team's balance,
checked and reserved in one atomic step of the counters. Refusals: 403, 429 with Retry-After, 402.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from onegate import errors
from onegate.accounting.directory import Directory
from onegate.accounting.pricing import affordable_output, estimate_micros
from onegate.accounting.reservations import Reservation, Reservations, limits_of
from onegate.accounting.speculation import Speculation
from onegate.accounting.usage import estimate_tokens
from onegate.apikeys import KeyRecord
from onegate.context import RequestContext
from onegate.counters.protocol import Admit, Capped, Limits, Reason, Refusal
from onegate.errors import GatewayError
from onegate.providers.registry import ModelEntry
from onegate.settings import MICROS, AccountingConfig
from onegate.store.rows import TeamRecord
from onegate.surfaces import SURFACES

log = logging.getLogger("onegate.admit")
NO_LIMITS = Limits()
OUTPUT_LIMIT_FIELDS = ("max_completion_tokens", "max_tokens", "max_output_tokens")
MIN_OUTPUT_TOKENS = 16  # the least answer worth sending when the money left cannot pay for more


@dataclass(slots=True)
class Admission:
    config: AccountingConfig
    model_groups: dict[str, list[str]]
    directory: Directory
    reservations: Reservations
    speculation: Speculation | None = None


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
    early: Callable[[], None] | None = None,
) -> bool:
    """Check and reserve, or raise the refusal in the catalog's terms. `size`: the body's length in bytes;
    `amount`: the cost to reserve when the surface estimates it itself (images, video), else from tokens;
    `rid`: the reservation's name when the charge that settles it is not this request's (a video task's).

    `early`: starts the upstream call; called before the counters answer when the speculation allows
    (accounting/speculation.py), the body then final. True: it was called, and the body changed after
    all (the output capped): that call must be cancelled and made again."""
    check_model(key, entry.name)
    team = await _team_of(admission.directory, key)
    if team is not None:
        _check_team_model(admission.model_groups, team, entry.name)
    surface = SURFACES[ctx.dialect]
    if not surface.billed:
        return False
    key_limits, team_limits = limits_of(key, admission.config.key_limits), limits_of(team, admission.config.team_limits)
    if amount is None and entry.price.free and key_limits == team_limits == NO_LIMITS:
        return False  # (as below, without estimating what nothing would reserve)
    now = time.time()
    input_tokens = estimate_tokens(size)
    asked = _output_limit(body)
    # a surface that estimates its own cost (images, video) has no output limit to lower: never capped
    outputs = surface.has_output and amount is None
    output = (asked or admission.config.reserve_output_tokens) if outputs else 0
    choices = _choices(body)
    price = entry.price
    if amount is None:
        amount = 0 if price.free else estimate_micros(price, input_tokens, output * choices)
    if not amount and key_limits == team_limits == NO_LIMITS:
        return False  # nothing to count and nothing to reserve: the counters are not asked
    # A balance or budget pays: the reservation must be the worst case, so the output gets a limit, lowered
    # to what the money left can pay down to a minimal answer (`least`), below which the answer is a 402.
    least = None
    if amount and outputs and price.output and (team is not None or key.budget_micros is not None):
        least = estimate_micros(price, input_tokens, min(output, MIN_OUTPUT_TOKENS) * choices)
    period, period_end = admission.directory.key_period(key, now)
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
        least=least,
        overdraft=round(admission.config.overdraft * MICROS),
    )
    speculation, speculating = admission.speculation, False
    if early is not None and speculation is not None and speculation.begin(request):
        speculating = True
        # the body goes upstream now: the output limit an uncapped admission sets is set first
        if least is not None and asked is None:
            _limit_unasked(ctx, body, output)
        early()
    try:
        outcome = await _reserve(admission, request, key, team)
    except GatewayError:
        raise
    except Exception as exc:  # the counters (or the database behind them) are unreachable: refuse, never spend blind
        raise _unavailable(exc) from exc
    finally:
        if speculating and speculation is not None:
            speculation.end(request)
    if isinstance(outcome, Refusal):
        raise refusal_error(outcome, key, team, period_end)
    reserved = amount
    capped = isinstance(outcome, Capped)
    if isinstance(outcome, Capped):
        reserved = outcome.amount
        output = affordable_output(price, input_tokens, reserved, choices)
        ctx.notes.append(f"output capped at {output} tokens: the money left pays no more (team balance or key budget)")
    # (speculating and not capped: the limit was set before the body went upstream)
    if least is not None and (asked is None or output < asked) and (capped or not speculating):
        if asked is None and not speculating:
            _limit_unasked(ctx, body, output)
        else:
            limit_output(ctx.dialect, body, output)
    ctx.reservation = Reservation(
        request.rid, key.id, request.team_id, reserved, request.tokens, now, period, request.period_ttl
    )
    return speculating and capped


def _limit_unasked(ctx: RequestContext, body: dict[str, Any], output: int) -> None:
    name = limit_output(ctx.dialect, body, output)
    ctx.notes.append(f"{name} set to {output}: a balance or budget pays, so the output has a limit")


async def _reserve(
    admission: Admission, request: Admit, key: KeyRecord, team: TeamRecord | None
) -> Refusal | Capped | None:
    """Reserve; what the counters do not have yet (a new key or period, a new team, or Redis restarted
    empty) is loaded from the database first, and a balance refusal is checked against the database (a
    top-up the counters have not heard of yet must not answer 402)."""
    outcome = await admission.reservations.reserve(request)
    for _ in range(3):  # at most the key's spend, then the team's balance, then a newer balance
        if not isinstance(outcome, Refusal):
            break
        if outcome.reason is Reason.KEY_UNKNOWN:
            await admission.directory.load_key_spend(key, request.now)
        elif outcome.reason is Reason.TEAM_UNKNOWN and team is not None:
            await admission.directory.load_team(team.id)
        elif outcome.reason is Reason.TEAM_BALANCE and team is not None:
            if not await admission.directory.recheck_balance(team.id):  # the counters were right
                break
        else:
            break
        outcome = await admission.reservations.reserve(request)
    return outcome


def limit_output(dialect: str, body: dict[str, Any], tokens: int) -> str:
    """Set the request's output limit to `tokens` in its own dialect (translation and pass-through both read
    it from there); returns the field's name."""
    present = [name for name in OUTPUT_LIMIT_FIELDS if name in body]
    for name in present:
        body[name] = tokens
    if present:
        return present[0]
    name = SURFACES[dialect].output_limit
    body[name] = tokens
    return name


async def _team_of(directory: Directory, key: KeyRecord) -> TeamRecord | None:
    if key.team_id is None:
        return None
    team = directory.team(key.team_id)
    if team is None:
        try:
            team = await directory.load_team(key.team_id)
        except Exception as exc:  # the database (or Redis) is away
            raise _unavailable(exc) from exc
    if team is None or team.status != "active":
        state = "does not exist" if team is None else "is disabled"
        raise GatewayError(errors.KEY_DISABLED, f"The team of API key {key.mask} ({key.name}) {state}.")
    return team


def _unavailable(exc: Exception) -> GatewayError:
    # the outage itself is logged once by whoever saw it go (counters/resp.py, the directory, the writer)
    log.debug("admission failed: %s: %s", exc.__class__.__name__, exc)
    return GatewayError(
        errors.ACCOUNTING_UNAVAILABLE,
        "onegate cannot check limits and balances right now (its counter store is unreachable). Retry shortly.",
    )


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
    if refusal.reason is Reason.TEAM_BALANCE:
        name = team.name if team else "?"
        return GatewayError(
            errors.INSUFFICIENT_QUOTA,
            f"The balance of team '{name}' cannot cover this request. Ask the team's administrator to top it "
            "up; retrying will not help until then.",
        )
    if refusal.reason is Reason.KEY_BUDGET:
        resets = datetime.fromtimestamp(period_end, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return GatewayError(
            errors.INSUFFICIENT_QUOTA,
            f"The {key.budget_period} budget of API key {key.mask} ({key.name}) is used up; it resets on "
            f"{resets}. The team balance is not the problem.",
        )
    scope, what = refusal.reason.scope, refusal.reason.limit
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
