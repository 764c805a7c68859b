"""The one message catalog: every text exists in English and Chinese with the same placeholders."""

from __future__ import annotations

import string

import pytest

from onegate.i18n.catalog import messages, normalise_lang, text


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_message_has_english_and_chinese_with_the_same_placeholders():
    for message_id, entry in messages().items():
        assert set(entry) == {"en", "zh"}, message_id
        assert placeholders(entry["en"]) == placeholders(entry["zh"]), message_id


@pytest.mark.parametrize(
    ("asked", "lang"),
    [("zh-CN,zh;q=0.9", "zh"), ("zh_TW", "zh"), ("en-US", "en"), ("", "en"), (None, "en"), ("fr", "en")],
)
def test_language_is_chinese_or_english(asked, lang):
    assert normalise_lang(asked) == lang


def test_texts_are_filled_in_the_language_asked():
    assert text("fix.set_env", "zh", name="A", value="b") == "请设置 A=b"
    assert text("fix.set_env", name="A", value="b") == "Set A=b"  # English by default


def test_diagnosis_codes_used_in_code_all_have_texts():
    import re
    from pathlib import Path

    src = Path(__file__).parents[2] / "src" / "onegate"
    used = set()
    for path in src.rglob("*.py"):
        used |= set(re.findall(r'"((?:path|key|body)\.[a-z_]*[a-z])"', path.read_text()))
    missing = sorted(code for code in used if code not in messages())
    assert missing == []
