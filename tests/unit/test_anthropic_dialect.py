"""The Messages dialect's pure parts: usage both ways, the pass-through relay, the encoder's block
numbering, the local token estimate; and the config that maps Claude Code's model names."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml

from onegate.accounting.usage import Usage
from onegate.dialects import canonical as c
from onegate.dialects.anthropic_messages.request import estimate_input_tokens
from onegate.dialects.anthropic_messages.response import usage_from_wire, usage_to_wire
from onegate.dialects.anthropic_messages.stream import PING, MessagesStreamEncoder, MessagesStreamRelay
from onegate.dialects.protocols import UpstreamStreamError
from onegate.dialects.registry import CODECS
from onegate.providers.anthropic import AnthropicProvider
from onegate.providers.registry import ModelRegistry
from onegate.settings import ConfigError, load_settings

EXAMPLE = Path(__file__).parents[2] / "onegate.example.yaml"


def _event(data: dict) -> bytes:
    return b"event: " + data["type"].encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


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


def test_relay_forwards_bytes_unchanged_and_reads_usage():
    relay = MessagesStreamRelay()
    start = {
        "type": "message_start",
        "message": {"id": "m", "usage": {"input_tokens": 3, "cache_read_input_tokens": 9}},
    }
    events = [
        _event(start),
        _event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        PING,
        _event({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}}),
        _event({"type": "message_stop"}),
    ]
    assert [relay.feed(e) for e in events] == events
    assert relay.done and relay.usage == Usage(input_tokens=12, cached_tokens=9, output_tokens=4, reported=True)


def test_relay_turns_an_upstream_error_event_into_a_stream_error():
    relay = MessagesStreamRelay()
    with pytest.raises(UpstreamStreamError, match="Overloaded"):
        relay.feed(_event({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))


def test_encoder_numbers_blocks_from_zero_and_opens_the_message_if_needed():
    encoder = MessagesStreamEncoder("m", 0, {"messages": [{"role": "user", "content": "x" * 40}]})
    out = encoder.encode(c.BlockStart(7, c.TextPart("")))
    out += encoder.encode(c.BlockDelta(7, "text", "hi"))
    out += encoder.encode(c.BlockDelta(3, "text", "from a block never opened"))
    out += encoder.encode(c.StreamEnd("end_turn", None))  # closes block 7 itself
    names = [line[7:] for line in out.decode().splitlines() if line.startswith("event: ")]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert b'"index":0' in out and b'"index":7' not in out and b"never opened" not in out
    assert b'"input_tokens":10' in out  # no upstream usage yet: the local estimate


def test_estimate_counts_text_tools_and_images():
    body = {
        "system": [{"type": "text", "text": "s" * 40}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "x" * 80}, {"type": "image", "source": {}}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}]},
        ],
    }
    assert estimate_input_tokens(body) == (40 + 80 + 2) // 4 + 1600


def test_count_tokens_codec_reports_free_usage_so_nothing_is_estimated():
    assert CODECS["anthropic_count_tokens"].usage_of_body(b'{"input_tokens": 99}') == Usage(reported=True)


def _settings(tmp_path, config: dict):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return load_settings(data_dir=tmp_path, config_path=path)


def test_model_map_is_glob_case_insensitive_first_match_and_exact_names_win(tmp_path):
    channel = {"name": "a", "type": "anthropic", "base_url": "http://h/v1", "models": ["claude-haiku-4-5", "small"]}
    model_map = {"CLAUDE-HAIKU-*": "small", "claude-*": "claude-haiku-4-5", "haiku": "small"}
    registry = ModelRegistry.from_settings(_settings(tmp_path, {"channels": [channel], "model_map": model_map}))
    assert isinstance(registry.get("small").targets[0].provider, AnthropicProvider)
    assert registry.get("claude-haiku-4-5").name == "claude-haiku-4-5"  # exact name, not the map
    assert registry.mapped("claude-haiku-4-5-20251001").name == "small"
    assert registry.mapped("claude-opus-4-8").name == "claude-haiku-4-5"
    assert registry.mapped("haiku").name == "small" and registry.mapped("sonnet") is None


def test_model_map_target_must_be_served(tmp_path):
    with pytest.raises(ConfigError, match="model_map: 'claude-\\*' points at 'nope'"):
        _settings(tmp_path, {"model_map": {"claude-*": "nope"}})


def test_example_config_loads_and_maps_claude_codes_names(tmp_path):
    settings = load_settings(data_dir=tmp_path, config_path=EXAMPLE)
    registry = ModelRegistry.from_settings(settings)
    assert {c.type for c in settings.channels} == {"openai", "anthropic"}
    assert registry.mapped("claude-haiku-4-5-20251001").name == "claude-haiku-4-5"
    assert registry.mapped("opus").name == "claude-sonnet-4-6"
    assert registry.mapped("claude-opus-4-8").name == "claude-sonnet-4-6"
