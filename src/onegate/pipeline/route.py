"""Step 3: which channels serve the requested model, in the order to try them.

A name no channel serves gets a 404 `model_not_found` naming the closest names the key may use
(diagnosis/models.py). When the operator sets `resolve_model_variants`, an unambiguous variant
(`GPT-4.1-Mini`, `openai/gpt-4.1-mini`, a dated id) is served as the real name and flagged as a hint.

Channels sit in priority tiers (lower first); inside a tier the order is a weighted random draw, so
traffic splits by weight and a failover goes to a different channel of the same tier before a lower one.
Channels that are open, cooling, disabled or full are left out; if that leaves none, the answer is a 503
`all_channels_unavailable` with Retry-After — never for a model that does not exist (that is a 404) — or,
when every channel is only cooling after its upstream's 429, a 429 `rate_limit_exceeded` with Retry-After,
the same answer the upstream's own 429 gave.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from onegate import errors
from onegate.apikeys import KeyRecord
from onegate.channels.book import ChannelBook
from onegate.context import RequestContext
from onegate.diagnosis.models import diagnose_model
from onegate.errors import GatewayError
from onegate.i18n.catalog import text
from onegate.providers.registry import ModelEntry, ModelRegistry, Target


def resolve_model(
    registry: ModelRegistry,
    model: str,
    key: KeyRecord,
    ctx: RequestContext | None = None,
    resolve_variants: bool = False,
) -> ModelEntry:
    """The model's entry: by its public name, else through the config's `model_map` (`entry.name` then
    differs from `model`: Claude Code's built-in claude-haiku-… served by a model the operator has), else,
    when the operator allows it, the one real name an unambiguous variant means."""
    entry = registry.get(model)
    if entry is not None:
        return entry
    entry = registry.mapped(model)
    if entry is not None:
        if ctx is not None:
            ctx.notes.append(f"model_map: {model} served as {entry.name}")
        return entry
    finding = diagnose_model(model, [name for name in registry.names if key.allows(name)])
    if ctx is not None:
        ctx.config_hint = finding.code
        named = finding.resolved or " or ".join(finding.suggestions[:3])
        ctx.config_fix = text("fix.model_name", name=named) if named else text("fix.model_list")
    if resolve_variants and finding.resolved is not None and ctx is not None:
        ctx.notes.append(f"{finding.code}: model '{model}' served as '{finding.resolved}'")
        return registry.get(finding.resolved)  # type: ignore[return-value]  # a registry name by construction
    why = text(f"{finding.code}.why", model=model)
    names = text("model.did_you_mean", names=", ".join(finding.suggestions)) if finding.suggestions else ""
    raise GatewayError(
        errors.MODEL_NOT_FOUND,
        text("model.not_found", model=model, why=why, did_you_mean=names),
        param="model",
    )


@dataclass(frozen=True, slots=True)
class RoutePlan:
    entry: ModelEntry
    targets: list[Target]  # in the order to try them
    book: ChannelBook  # where attempts report, and the routing policy


def plan_route(book: ChannelBook, entry: ModelEntry, rng: Callable[[], float] = random.random) -> RoutePlan:
    """The channels to try for `entry`, in order; raises `all_channels_unavailable` when there are none."""
    now = time.time()
    usable = [t for t in entry.targets if book.may_try(t.channel, now)]
    if not usable:
        raise channels_unavailable(book, entry, now)
    return RoutePlan(entry, order_targets(usable, rng), book)


def order_targets(targets: Sequence[Target], rng: Callable[[], float] = random.random) -> list[Target]:
    """Priority tiers ascending; a weighted shuffle inside each (Efraimidis–Spirakis: key = u^(1/w))."""
    if len(targets) == 1:
        return list(targets)
    return sorted(targets, key=lambda t: (t.priority, -(rng() ** (1.0 / t.weight))))


def channels_unavailable(book: ChannelBook, entry: ModelEntry, now: float) -> GatewayError:
    names = [t.channel for t in entry.targets]
    wait = book.retry_after(names, now)
    states = ", ".join(f"{n}: {_describe(book, n, now)}" for n in names)
    rate_limited = all(book.state(n, now) == "cooling" for n in names)
    return GatewayError(
        errors.RATE_LIMITED if rate_limited else errors.ALL_CHANNELS_UNAVAILABLE,
        f"Every channel serving '{entry.name}' is unavailable right now ({states}). Retry in {wait} s.",
        headers={"retry-after": str(wait)},
    )


def _describe(book: ChannelBook, channel: str, now: float) -> str:
    state, marks = book.state(channel, now), book.marks(channel)
    if state == "open":
        return f"circuit open for {marks.open_until - now:.0f} s more"
    if state == "cooling":
        return f"rate-limited for {marks.cool_until - now:.0f} s more"
    if state == "disabled":
        return "disabled"
    if state == "half_open":
        return "being probed"
    return "at its concurrency limit" if book.at_cap(channel) else state
