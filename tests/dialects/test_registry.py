"""The codec table: one line per codec, each module imported on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from onegate.dialects.registry import CODECS, WHERE


@pytest.mark.parametrize("name", sorted(WHERE))
def test_each_entry_loads_the_codec_of_that_name(name):
    assert CODECS[name].name == name
    assert CODECS[name] is CODECS[name]  # loaded once, then kept


def test_an_unknown_codec_is_a_key_error_and_get_gives_none():
    with pytest.raises(KeyError):
        CODECS["gemini_video"]
    assert CODECS.get("gemini_video") is None


def test_the_table_imports_no_codec_until_one_is_asked_for():
    probe = (
        "import sys\n"
        "from onegate.dialects.registry import CODECS\n"
        "ours = lambda m: m.startswith('onegate.') and m.endswith(('.codec', '_codecs'))\n"
        "loaded = lambda: sorted(filter(ours, sys.modules))\n"
        "print(loaded())\n"
        "CODECS['anthropic_messages']\n"
        "print(loaded())\n"
    )
    before, after = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert before == "[]"
    assert "onegate.dialects.anthropic_messages.codec" in after and "openai_images" not in after
