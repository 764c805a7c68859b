"""Config validation: errors name the field; secrets and duplicate channel names are refused; defaults."""

from __future__ import annotations

import pytest
import yaml

from onegate.settings import ConfigError, load_settings


def _write(tmp_path, config):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_config_errors_name_the_field(tmp_path):
    path = _write(tmp_path, {"channels": [{"name": "x", "type": "nope", "base_url": "http://h"}]})
    with pytest.raises(ConfigError, match=r"channels\.0\.type"):
        load_settings(data_dir=tmp_path, config_path=path)


def test_config_refuses_a_secret_in_place_of_an_env_var_name(tmp_path):
    path = _write(tmp_path, {"channels": [{"name": "x", "base_url": "http://h", "api_key_env": "sk-live-123"}]})
    with pytest.raises(ConfigError, match="environment variable"):
        load_settings(data_dir=tmp_path, config_path=path)


def test_config_refuses_duplicate_channel_names(tmp_path):
    channel = {"name": "x", "base_url": "http://h"}
    with pytest.raises(ConfigError, match="unique"):
        load_settings(data_dir=tmp_path, config_path=_write(tmp_path, {"channels": [channel, channel]}))


def test_defaults_use_sqlite_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("ONEGATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ONEGATE_CONFIG", raising=False)
    settings = load_settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'onegate.db'}"
    assert settings.base_url == "http://127.0.0.1:8080/api/v1"
    assert settings.max_body_bytes == 32 * 1024 * 1024
