"""Every console string exists in English and Chinese: each page module's `messages` and the shared
i18n/common.js have the same keys in `en` and `zh`, and every literal `t("key")` a page calls is defined."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from onegate.console.assets import STATIC

PAGES = sorted((STATIC / "pages").glob("*.js"))
_KEY = re.compile(r'^\s*"?([\w.]+)"?\s*:', re.M)
_CALL = re.compile(r'\bt\(\s*"([\w.]+)"\s*[,)]')


def language_blocks(source: str) -> dict[str, set[str]]:
    """The keys under `en: {…}` and `zh: {…}` of the first messages object in a module (entries one a line)."""
    blocks: dict[str, set[str]] = {}
    for lang in ("en", "zh"):
        start = re.search(rf"^\s*{lang}:\s*\{{", source, re.M)
        assert start, f"no {lang} block"
        depth, i = 1, start.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(source[i], 0)
            i += 1
        blocks[lang] = set(_KEY.findall(source[start.end() : i - 1]))
    return blocks


def test_the_shared_strings_have_both_languages() -> None:
    blocks = language_blocks((STATIC / "i18n" / "common.js").read_text())
    assert blocks["en"] == blocks["zh"], blocks["en"] ^ blocks["zh"]
    assert len(blocks["en"]) > 40


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_a_page_has_the_same_keys_in_both_languages_and_defines_what_it_uses(path: Path) -> None:
    source = path.read_text()
    assert "export const messages" in source and re.search(r"export function Page\b", source), path.name
    blocks = language_blocks(source)
    assert blocks["en"] == blocks["zh"], blocks["en"] ^ blocks["zh"]
    common = language_blocks((STATIC / "i18n" / "common.js").read_text())["en"]
    assert set(_CALL.findall(source)) - blocks["en"] - common == set()


def test_the_checker_catches_a_missing_translation() -> None:
    source = 'export const messages = {\n  en: {\n    a: "x",\n    "b.c": "y",\n  },\n  zh: {\n    a: "甲",\n  },\n};'
    blocks = language_blocks(source)
    assert blocks == {"en": {"a", "b.c"}, "zh": {"a"}}
