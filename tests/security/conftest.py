"""Fixtures of the threat tests: the real app in-process, its channels on the shared fake vendors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.security.harness import InProcessGateway, gateway_config


@pytest.fixture(scope="module")
def in_process(
    tmp_path_factory: pytest.TempPathFactory,
    _upstream_server: FakeOpenAIUpstream,
    _anthropic_server: FakeAnthropicUpstream,
) -> Iterator[InProcessGateway]:
    """One gateway per test module (starting one per test would dominate the fuzz runs)."""
    gateway = InProcessGateway(
        tmp_path_factory.mktemp("in-process") / "data", gateway_config(_upstream_server, _anthropic_server)
    )
    yield gateway
    gateway.close()


@pytest.fixture
def fakes(upstream: FakeOpenAIUpstream, anthropic_upstream: FakeAnthropicUpstream) -> None:
    """Both fake vendors in their default behaviour, with empty request records, for this test."""
