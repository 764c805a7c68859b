"""A running onegate with the management API on, two teams, their admins and keys: the cast of the role tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.conftest import GatewayFactory, RunningGateway, channel_config
from tests.fakes.openai_upstream import FakeOpenAIUpstream

BOOTSTRAP = "bootstrap-owner-token-for-tests-0001"


@dataclass
class Console:
    gw: RunningGateway
    http: requests.Session
    tokens: dict[str, str] = field(default_factory=dict)  # role name → bearer token
    ids: dict[str, int] = field(default_factory=dict)  # team_a, team_b, key_a, key_b, admin_…

    def call(self, method: str, path: str, as_: str | None = "owner", **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if as_ is not None:
            headers["authorization"] = f"Bearer {self.tokens[as_]}"
        kwargs.setdefault("timeout", 30)
        return self.http.request(method, self.gw.root + "/admin/api/v1" + path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, as_: str | None = "owner", **kwargs: Any) -> Any:
        response = self.call(method, path, as_, **kwargs)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json()


def cast(start_gateway: GatewayFactory, config: dict[str, Any], http: requests.Session) -> Console:
    """Start onegate on `config` and create the cast: two teams with a key each, and one admin per role."""
    gw = start_gateway(config)
    c = Console(gw, http, {"owner": BOOTSTRAP})
    for name in ("a", "b"):
        team = c.ok("POST", "/teams", json={"name": f"team-{name}"})
        c.ids[f"team_{name}"] = team["id"]
        c.ok("POST", f"/teams/{team['id']}/balance", json={"kind": "topup", "amount": "10", "note": "start"})
        created = c.ok("POST", "/keys", json={"name": f"key-{name}", "team_id": team["id"], "budget": "5"})
        c.ids[f"key_{name}"] = created["key"]["id"]
        c.tokens[f"key_{name}"] = created["secret"]
    for role, extra in (
        ("operator", {}),
        ("viewer", {}),
        ("team_admin", {"team_id": c.ids["team_a"]}),
        ("team_admin_topup", {"team_id": c.ids["team_a"], "can_topup": True}),
    ):
        made = c.ok("POST", "/admins", json={"name": role, "role": role.removesuffix("_topup"), **extra})
        c.tokens[role] = made["token"]
        c.ids[f"admin_{role}"] = made["admin"]["id"]
    c.tokens["key"] = c.tokens["key_a"]
    return c


def console_config(upstream: FakeOpenAIUpstream) -> dict[str, Any]:
    config = channel_config(upstream)
    config["model_groups"] = {"cheap": ["gpt-4.1-mini"]}
    config["prices"]["gpt-4.1-mini"] = {"input": 100.0, "output": 100.0}  # every token costs: spend is never 0
    return config


@pytest.fixture
def console(
    start_gateway: GatewayFactory, upstream: FakeOpenAIUpstream, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Console]:
    monkeypatch.setenv("ONEGATE_ADMIN_TOKEN", BOOTSTRAP)
    with requests.Session() as http:
        yield cast(start_gateway, console_config(upstream), http)
