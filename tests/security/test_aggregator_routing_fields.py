"""No hidden routing through aggregators: `models`, `route`, `provider`, `plugins`, `transforms` (and
`preset`, `fallbacks`) make an upstream like OpenRouter send the request to other models or run paid
plugins. A key limited to a cheap model could then reach any model on the operator's account, billed at
the cheap price. They are removed before forwarding, on every surface, pass-through or translated,
unless the channel lists them in `passthrough_fields`. The fake upstreams record what they received.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import (
    ANTHROPIC_SECRET,
    UPSTREAM_SECRET,
    GatewayFactory,
    anthropic_channel,
    channel_config,
    raw_request,
)
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream

ROUTING = {
    "models": ["openai/o3-pro", "anthropic/claude-opus-4"],
    "route": "fallback",
    "provider": {"order": ["expensive"], "allow_fallbacks": True},
    "plugins": [{"id": "web"}],
    "transforms": ["middle-out"],
    "preset": "everything",
    "fallbacks": ["o3-pro"],
}
USER = [{"role": "user", "content": "hi"}]
# (surface path, body, which fake answers, note) — pass-through and translated on each surface
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("/chat/completions", {"model": "gpt-4.1-mini", "messages": USER}, "openai"),
    ("/chat/completions", {"model": "gpt-4.1-mini", "messages": USER, "stream": True}, "openai"),
    ("/chat/completions", {"model": "sonnet", "messages": USER}, "anthropic"),  # translated
    ("/completions", {"model": "gpt-4.1-mini", "prompt": "hi"}, "openai"),
    ("/embeddings", {"model": "text-embedding-3-small", "input": "hi"}, "openai"),
    ("/messages", {"model": "sonnet", "max_tokens": 16, "messages": USER}, "anthropic"),
    ("/messages", {"model": "sonnet", "max_tokens": 16, "messages": USER, "stream": True}, "anthropic"),
    ("/messages", {"model": "gpt-4.1-mini", "max_tokens": 16, "messages": USER}, "openai"),  # translated
    ("/messages/count_tokens", {"model": "sonnet", "messages": USER}, "anthropic"),
    ("/responses", {"model": "gpt-4.1-mini", "input": "hi"}, "openai"),  # translated to Chat
    ("/responses", {"model": "gpt-4.1-mini", "input": "hi", "stream": True}, "openai"),
    ("/responses", {"model": "sonnet", "input": "hi"}, "anthropic"),  # translated to Messages
]


@pytest.fixture
def fakes(
    upstream: FakeOpenAIUpstream, anthropic_upstream: FakeAnthropicUpstream, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    monkeypatch.setenv("ONEGATE_TEST_ANTHROPIC_KEY", ANTHROPIC_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    anthropic_upstream.required_api_key = ANTHROPIC_SECRET
    return {"openai": upstream, "anthropic": anthropic_upstream}


def _config(fakes: dict[str, Any], passthrough: list[str] | None = None) -> dict[str, Any]:
    extra = {"passthrough_fields": passthrough} if passthrough else {}
    config = channel_config(fakes["openai"], **extra)
    config["channels"].append(anthropic_channel(fakes["anthropic"], **extra))
    return config


def _received(gateway: Any, fakes: dict[str, Any], path: str, body: dict[str, Any], fake: str) -> dict[str, Any]:
    recorded = fakes[fake].requests
    before = len(recorded)
    headers = {"authorization": f"Bearer {gateway.key}", "content-type": "application/json"}
    answer = raw_request("POST", gateway.base_url + path, {**body, **ROUTING}, headers)
    assert answer.status == 200, (path, answer.body[:300])
    assert len(recorded) == before + 1, f"{path}: the {fake} upstream was not called"
    return recorded[-1].json


@pytest.mark.parametrize(("path", "body", "fake"), CASES)
def test_aggregator_routing_fields_never_reach_the_upstream(
    start_gateway: GatewayFactory, fakes: dict[str, Any], path: str, body: dict[str, Any], fake: str
) -> None:
    gateway = start_gateway(_config(fakes))
    sent = _received(gateway, fakes, path, body, fake)
    assert not set(ROUTING) & set(sent), f"{path} forwarded {sorted(set(ROUTING) & set(sent))}"


def test_the_removal_is_noted_in_the_request_log(start_gateway: GatewayFactory, fakes: dict[str, Any]) -> None:
    gateway = start_gateway(_config(fakes))
    headers = {"authorization": f"Bearer {gateway.key}", "content-type": "application/json"}
    body = {"model": "gpt-4.1-mini", "messages": USER, "models": ["openai/o3-pro"]}
    answer = raw_request("POST", gateway.base_url + "/chat/completions", body, headers)
    notes = gateway.log(answer.headers["x-request-id"])["notes"]
    assert "field 'models' removed" in str(notes)


@pytest.mark.parametrize(("path", "body", "fake"), [CASES[0], CASES[2], CASES[5], CASES[7], CASES[9]])
def test_a_channel_that_lists_passthrough_fields_gets_exactly_those(
    start_gateway: GatewayFactory, fakes: dict[str, Any], path: str, body: dict[str, Any], fake: str
) -> None:
    gateway = start_gateway(_config(fakes, passthrough=["provider", "transforms"]))
    sent = _received(gateway, fakes, path, body, fake)
    assert sent["provider"] == ROUTING["provider"] and sent["transforms"] == ROUTING["transforms"]
    assert not {"models", "route", "plugins", "preset", "fallbacks"} & set(sent)


@pytest.mark.parametrize("stream", [False, True])
def test_responses_passed_through_to_a_native_channel_lose_them_too(
    start_gateway: GatewayFactory, fakes: dict[str, Any], stream: bool
) -> None:
    gateway = start_gateway(channel_config(fakes["openai"], responses_api=True))
    sent = _received(gateway, fakes, "/responses", {"model": "gpt-4.1-mini", "input": "hi", "stream": stream}, "openai")
    assert fakes["openai"].requests[-1].path == "/v1/responses"
    assert not set(ROUTING) & set(sent)
