"""Step 3: which channel serves the requested model, under which upstream name."""

from __future__ import annotations

import difflib

from onegate import errors
from onegate.apikeys import KeyRecord
from onegate.errors import GatewayError
from onegate.providers.registry import ModelEntry, ModelRegistry


def resolve_model(registry: ModelRegistry, model: str, key: KeyRecord) -> ModelEntry:
    """The model's entry: by its public name, else through the config's `model_map` (`entry.name` then
    differs from `model`: Claude Code's built-in claude-haiku-… served by a model the operator has)."""
    entry = registry.get(model) or registry.mapped(model)
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
