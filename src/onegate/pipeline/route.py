"""Step 3: which channel serves the requested model, under which upstream name.

A name no channel serves gets a 404 `model_not_found` naming the closest names the key may use
(diagnosis/models.py). When the operator sets `resolve_model_variants`, an unambiguous variant
(`GPT-4.1-Mini`, `openai/gpt-4.1-mini`, a dated id) is served as the real name and flagged as a hint.
"""

from __future__ import annotations

from onegate import errors
from onegate.apikeys import KeyRecord
from onegate.context import RequestContext
from onegate.diagnosis.models import diagnose_model
from onegate.errors import GatewayError
from onegate.i18n.catalog import text
from onegate.providers.registry import ModelEntry, ModelRegistry


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
