"""Model-name diagnosis: from a name no channel serves to the real names the key may use.

The usual causes, tried in order: the letter case (`GPT-4.1-Mini`), spacing and punctuation
(`gpt 4.1 mini`, `gpt4o`), a vendor prefix (`openai/gpt-4.1-mini`), a dated snapshot where the gateway
has the undated name or the reverse (`claude-sonnet-4-5-20250929`), a product name (`Claude 3.5 Sonnet`),
a family shorthand (`sonnet`, Claude Code's alias); then plain similarity. A finding says which, lists
up to three close names, and names the one meant when exactly one fits and the variant is safe to serve
(`resolved`). Pure.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[\s_.@:-]+")
_DATE = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|\d{4}|latest)$")
_FAMILIES = {"sonnet", "haiku", "opus", "claude", "gpt", "gemini", "deepseek", "qwen", "llama", "mistral", "o1", "o3"}
# Variants that name one model when exactly one name fits; another snapshot or a shorthand is left to the user.
RESOLVABLE = frozenset(
    {"model.case", "model.spacing", "model.vendor_prefix", "model.dated", "model.undated", "model.marketing_name"}
)


@dataclass(frozen=True, slots=True)
class ModelFinding:
    code: str  # stable: model.case, model.spacing, model.vendor_prefix, model.dated, model.undated, …
    suggestions: list[str]  # closest names the key may use, best first
    resolved: str | None  # the one name meant, when unambiguous and safe to serve


def _fold(name: str) -> str:
    """Lower case, one hyphen between words: `Claude 3.5 Sonnet` → `claude-3-5-sonnet`."""
    return _SEPARATORS.sub("-", name.strip().lower()).strip("-")


def _squash(name: str) -> str:
    return _fold(name).replace("-", "")


def _undated(name: str) -> str:
    return _DATE.sub("", _fold(name))


def _tokens(name: str) -> tuple[str, ...]:
    return tuple(sorted(_undated(name).split("-")))


def _without_vendor(name: str) -> str:
    return name.rsplit("/", 1)[-1]


# (code, test of a requested name against a real one), in the order causes are tried.
_RULES: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("model.case", lambda asked, real: asked.lower() == real.lower()),
    ("model.spacing", lambda asked, real: _squash(asked) == _squash(real)),
    ("model.vendor_prefix", lambda asked, real: "/" in asked and _squash(_without_vendor(asked)) == _squash(real)),
    ("model.dated", lambda asked, real: _squash(_undated(_without_vendor(asked))) == _squash(real)),
    ("model.undated", lambda asked, real: _squash(_without_vendor(asked)) == _squash(_undated(real))),
    (
        "model.other_snapshot",
        lambda asked, real: (
            _DATE.search(_fold(asked)) is not None and _undated(_without_vendor(asked)) == _undated(real)
        ),
    ),
    ("model.marketing_name", lambda asked, real: _tokens(_without_vendor(asked)) == _tokens(real)),
    (
        "model.family_alias",
        lambda asked, real: _fold(asked) in _FAMILIES and _fold(asked) in _fold(real).split("-"),
    ),
)


def diagnose_model(model: str, usable: Sequence[str], limit: int = 3) -> ModelFinding:
    """Why `model` matched nothing among `usable` (the names the key may use), and what it probably meant."""
    for code, fits in _RULES:
        found = [name for name in usable if fits(model, name)]
        if found:
            if " " in model.strip() and model != model.lower():  # a product name as people write it
                code = "model.marketing_name"
            resolved = found[0] if len(found) == 1 and code in RESOLVABLE else None
            return ModelFinding(code, _fill(found, model, usable, limit), resolved)
    return ModelFinding("model.unknown", _similar(model, usable, limit), None)


def close_matches(model: str, names: Sequence[str], limit: int = 3) -> list[str]:
    """Up to `limit` real names close to `model`, best first."""
    return diagnose_model(model, names, limit).suggestions


def _fill(found: list[str], model: str, usable: Sequence[str], limit: int) -> list[str]:
    names = list(found)
    for name in _similar(model, usable, limit):
        if name not in names:
            names.append(name)
    return names[:limit]


def _similar(model: str, usable: Sequence[str], limit: int) -> list[str]:
    wanted = _fold(_without_vendor(model))
    folded = {_fold(n): n for n in usable}
    prefixed = [n for k, n in folded.items() if k.startswith(wanted) or wanted.startswith(k)]
    similar = [folded[k] for k in difflib.get_close_matches(wanted, list(folded), n=limit, cutoff=0.5)]
    names: list[str] = []
    for name in prefixed + similar:
        if name not in names:
            names.append(name)
    return names[:limit]
