"""The pinned CLI clients: a missing one skips locally and fails in CI, like a missing service."""

from __future__ import annotations

import pytest

from tests.clients.install import CLIENTS, cache_root
from tests.conftest import require_client


def test_a_client_that_cannot_be_installed_skips_here_and_fails_in_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_CLIENTS_DIR", str(tmp_path))  # an empty cache
    monkeypatch.setenv("PATH", str(tmp_path))  # and no npm to fill it
    monkeypatch.delenv("ONEGATE_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="npm is not on PATH"):
        require_client("codex")
    monkeypatch.setenv("ONEGATE_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match=r"@openai/codex@0\.171\.0 .*ONEGATE_REQUIRE_SERVICES=1"):
        require_client("codex")


def test_clients_are_pinned_and_cached_outside_the_clone(monkeypatch, tmp_path):
    monkeypatch.delenv("ONEGATE_TEST_CLIENTS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "onegate-test-clients"
    assert {c.spec for c in CLIENTS.values()} == {"@anthropic-ai/claude-code@2.1.197", "@openai/codex@0.171.0"}
