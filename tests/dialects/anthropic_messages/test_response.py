"""Messages usage both ways: Anthropic's input tokens exclude the cache, ours include it."""

from __future__ import annotations

from onegate.accounting.usage import Usage
from onegate.dialects.anthropic_messages.response import usage_from_wire, usage_to_wire


def test_anthropic_input_tokens_exclude_the_cache_ours_include_it():
    usage = usage_from_wire(
        {"input_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20, "output_tokens": 7}
    )
    assert usage == Usage(input_tokens=125, cached_tokens=100, cache_write_tokens=20, output_tokens=7, reported=True)
    assert usage_to_wire(usage) == {
        "input_tokens": 5,
        "cache_creation_input_tokens": 20,
        "cache_read_input_tokens": 100,
        "output_tokens": 7,
    }


def test_message_delta_usage_overwrites_only_what_it_carries():
    usage = usage_from_wire({"input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 1})
    usage_from_wire({"output_tokens": 42}, usage)
    assert (usage.input_tokens, usage.cached_tokens, usage.output_tokens) == (105, 100, 42)
    usage_from_wire({"cache_read_input_tokens": 60, "output_tokens": 43}, usage)  # uncached part unchanged
    assert (usage.input_tokens, usage.cached_tokens, usage.output_tokens) == (65, 60, 43)
