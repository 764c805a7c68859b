"""The one message catalog: every diagnosis, guide and page text in English and Chinese.

Texts live in `messages.yaml` (one entry per id, one line per language) so a translator edits data, not
code. `text(id, lang, **params)` fills `{placeholders}`; a missing Chinese text falls back to English,
and a test checks that both languages exist and use the same placeholders. API errors default to
English: most clients show `error.message` verbatim and support reads it in the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

import yaml

LANGS = ("en", "zh")
DEFAULT_LANG = "en"
_FILE = Path(__file__).with_name("messages.yaml")


@cache
def messages() -> dict[str, dict[str, str]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with _FILE.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    return {str(k): {lang: str(v).strip() for lang, v in entry.items()} for k, v in data.items() for entry in [v]}


def normalise_lang(lang: str | None) -> str:
    """`zh-CN`, `zh_TW`, `zh` → `zh`; anything else → English."""
    return "zh" if lang and lang.strip().lower().startswith("zh") else DEFAULT_LANG


def request_lang(path: str, headers: Mapping[str, str]) -> str:
    """The language a page or guide is asked in: `?lang=zh|en` on the path, else the browser's Accept-Language."""
    query = parse_qs(path.partition("?")[2])
    return normalise_lang((query.get("lang") or [headers.get("accept-language", "")])[0])


def text(message_id: str, lang: str = DEFAULT_LANG, **params: object) -> str:
    entry = messages()[message_id]
    template = entry.get(normalise_lang(lang)) or entry[DEFAULT_LANG]
    return template.format(**params) if params else template
