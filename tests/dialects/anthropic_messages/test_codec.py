"""The count-tokens surface is free: its usage is reported, never estimated."""

from __future__ import annotations

from onegate.accounting.usage import Usage
from onegate.dialects.registry import CODECS


def test_count_tokens_codec_reports_free_usage_so_nothing_is_estimated():
    assert CODECS["anthropic_count_tokens"].usage_of_body(b'{"input_tokens": 99}') == Usage(reported=True)
