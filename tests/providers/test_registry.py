"""The model map that serves Claude Code's model names: glob, case-insensitive, first match, exact names win."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from onegate.providers.anthropic import AnthropicProvider
from onegate.providers.registry import ModelRegistry
from onegate.settings import ConfigError, load_settings
from tests.conftest import channel

EXAMPLE = Path(__file__).parents[2] / "onegate.example.yaml"


def _settings(tmp_path, config: dict):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return load_settings(data_dir=tmp_path, config_path=path)


def test_model_map_is_glob_case_insensitive_first_match_and_exact_names_win(tmp_path):
    claude = channel("a", "http://h/v1", ["claude-haiku-4-5", "small"], type="anthropic")
    model_map = {"CLAUDE-HAIKU-*": "small", "claude-*": "claude-haiku-4-5", "haiku": "small"}
    registry = ModelRegistry.from_settings(_settings(tmp_path, {"channels": [claude], "model_map": model_map}))
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
