"""Step 3: which channels serve the requested model, in the order to try them.

Channels sit in priority tiers (lower first); inside a tier the order is a weighted random draw, so
traffic splits by weight and a failover goes to a different channel of the same tier before a lower one.
Channels that are open, cooling, disabled or full are left out; if that leaves none, the answer is a 503
`all_channels_unavailable` with Retry-After — never for a model that does not exist (that is a 404).
"""

from __future__ import annotations

import difflib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from onegate import errors
from onegate.apikeys import KeyRecord
from onegate.channels.book import ChannelBook
from onegate.errors import GatewayError
from onegate.providers.registry import ModelEntry, ModelRegistry, Target


def resolve_model(registry: ModelRegistry, model: str, key: KeyRecord) -> ModelEntry:
    entry = registry.get(model)
    if entry is not None:
        return entry
    usable = [name for name in registry.names if key.allows(name)]
    matches = close_matches(model, usable)
    hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
    raise GatewayError(
        errors.MODEL_NOT_FOUND,
        f"The model '{model}' does not exist on this gateway.{hint} "
        "GET /api/v1/models lists the models your key may use.",
        param="model",
    )


@dataclass(frozen=True, slots=True)
class Route:
    entry: ModelEntry
    targets: list[Target]  # in the order to try them
    book: ChannelBook  # where attempts report, and the routing policy


def plan_route(book: ChannelBook, entry: ModelEntry, rng: Callable[[], float] = random.random) -> Route:
    """The channels to try for `entry`, in order; raises `all_channels_unavailable` when there are none."""
    now = time.time()
    usable = [t for t in entry.targets if book.may_try(t.channel, now)]
    if not usable:
        raise channels_unavailable(book, entry, now)
    return Route(entry, order_targets(usable, rng), book)


def order_targets(targets: Sequence[Target], rng: Callable[[], float] = random.random) -> list[Target]:
    """Priority tiers ascending; a weighted shuffle inside each (Efraimidis–Spirakis: key = u^(1/w))."""
    if len(targets) == 1:
        return list(targets)
    return sorted(targets, key=lambda t: (t.priority, -(rng() ** (1.0 / t.weight))))


def channels_unavailable(book: ChannelBook, entry: ModelEntry, now: float) -> GatewayError:
    names = [t.channel for t in entry.targets]
    wait = book.retry_after(names, now)
    states = ", ".join(f"{n}: {_describe(book, n, now)}" for n in names)
    return GatewayError(
        errors.ALL_CHANNELS_UNAVAILABLE,
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


def _normalise(name: str) -> str:
    name = name.strip().lower().replace(" ", "-").replace("_", "-")
    return name.rsplit("/", 1)[-1]  # vendor prefixes: openai/gpt-4.1-mini


def close_matches(model: str, names: list[str], limit: int = 3) -> list[str]:
    """Up to `limit` names close to `model`: exact after normalising first, then by similarity."""
    wanted = _normalise(model)
    normalised = {_normalise(n): n for n in names}
    exact = [normalised[wanted]] if wanted in normalised else []
    prefixed = [n for k, n in normalised.items() if (k.startswith(wanted) or wanted.startswith(k)) and n not in exact]
    similar = [normalised[k] for k in difflib.get_close_matches(wanted, list(normalised), n=limit, cutoff=0.5)]
    seen: list[str] = []
    for name in exact + prefixed + similar:
        if name not in seen:
            seen.append(name)
    return seen[:limit]
