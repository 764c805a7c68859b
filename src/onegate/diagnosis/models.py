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
from functools import lru_cache

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
    suggestions: tuple[str, ...]  # closest names the key may use, best first
    resolved: str | None  # the one name meant, when unambiguous and safe to serve


def _fold(name: str) -> str:
    """Lower case, one hyphen between words: `Claude 3.5 Sonnet` → `claude-3-5-sonnet`."""
    return _SEPARATORS.sub("-", name.strip().lower()).strip("-")


@dataclass(frozen=True, slots=True)
class _Forms:
    """The comparable forms of one name, computed once per diagnosis."""

    lower: str
    vendor: bool  # `openai/…`
    folded: str  # without the vendor prefix
    squashed: str  # folded, hyphens removed
    undated: str  # folded, date suffix removed
    undated_squashed: str
    dated: bool
    tokens: tuple[str, ...]  # words of `undated`, sorted: word order does not matter

    @classmethod
    def of(cls, name: str) -> _Forms:
        folded = _fold(name.rsplit("/", 1)[-1])
        undated = _DATE.sub("", folded)
        return cls(
            name.strip().lower(),
            "/" in name,
            folded,
            folded.replace("-", ""),
            undated,
            undated.replace("-", ""),
            undated != folded,
            tuple(sorted(undated.split("-"))),
        )


# (code, test of a requested name's forms against a real name's), in the order causes are tried.
_RULES: tuple[tuple[str, Callable[[_Forms, _Forms], bool]], ...] = (
    ("model.case", lambda a, r: a.lower == r.lower),
    ("model.spacing", lambda a, r: not a.vendor and a.squashed == r.squashed),
    ("model.vendor_prefix", lambda a, r: a.vendor and a.squashed == r.squashed),
    ("model.dated", lambda a, r: a.dated and a.undated_squashed == r.squashed),
    ("model.undated", lambda a, r: a.squashed == r.undated_squashed),
    ("model.other_snapshot", lambda a, r: a.dated and a.undated == r.undated),
    ("model.marketing_name", lambda a, r: a.tokens == r.tokens),
    ("model.family_alias", lambda a, r: a.folded in _FAMILIES and a.folded in r.folded.split("-")),
)


_CACHED_NAME_LIMIT = 256  # longer names (the API refuses them first) are diagnosed without being kept


def diagnose_model(model: str, usable: Sequence[str], limit: int = 3) -> ModelFinding:
    """Why `model` matched nothing among `usable` (the names the key may use), and what it probably meant."""
    if len(model) > _CACHED_NAME_LIMIT:
        return _diagnose.__wrapped__(model, tuple(usable), limit)
    return _diagnose(model, tuple(usable), limit)


# A misconfigured client repeats the same wrong name; fuzzy matching is the costly part. Bounded in entries,
# and in bytes by the name limit above.
@lru_cache(maxsize=1024)
def _diagnose(model: str, usable: tuple[str, ...], limit: int) -> ModelFinding:
    asked = _Forms.of(model)
    real = [(name, _Forms.of(name)) for name in usable]
    for code, fits in _RULES:
        found = [name for name, forms in real if fits(asked, forms)]
        if found:
            if " " in model.strip() and model != model.lower():  # a product name as people write it
                code = "model.marketing_name"
            resolved = found[0] if len(found) == 1 and code in RESOLVABLE else None
            return ModelFinding(code, tuple(_fill(found, asked, real, limit)), resolved)
    return ModelFinding("model.unknown", tuple(_similar(asked, real, limit)), None)


def _fill(found: list[str], asked: _Forms, real: list[tuple[str, _Forms]], limit: int) -> list[str]:
    names = list(found)
    for name in _similar(asked, real, limit):
        if name not in names:
            names.append(name)
    return names[:limit]


def _similar(asked: _Forms, real: list[tuple[str, _Forms]], limit: int) -> list[str]:
    wanted = asked.folded
    folded = {forms.folded: name for name, forms in real}
    prefixed = [n for k, n in folded.items() if k.startswith(wanted) or wanted.startswith(k)]
    similar = [folded[k] for k in difflib.get_close_matches(wanted, list(folded), n=limit, cutoff=0.5)]
    names: list[str] = []
    for name in prefixed + similar:
        if name not in names:
            names.append(name)
    return names[:limit]
