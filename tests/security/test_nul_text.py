"""NUL characters in what callers send to the management API: PostgreSQL's text refuses them, so one that
reached the database answered 500 (and on SQLite it was stored, to surprise whoever reads it later).
They are refused as bad input, with a 400 that names the field, on every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.admin.conftest import BOOTSTRAP, Console, cast, console_config
from tests.conftest import GatewayFactory, require_service
from tests.fakes.openai_upstream import FakeOpenAIUpstream


@pytest.fixture(params=["sqlite", "postgresql"])
def console_on(
    request: pytest.FixtureRequest,
    start_gateway: GatewayFactory,
    upstream: FakeOpenAIUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Console]:
    from tests.services import POSTGRES_HOST, POSTGRES_PORT, postgres_schema

    monkeypatch.setenv("ONEGATE_ADMIN_TOKEN", BOOTSTRAP)
    config = console_config(upstream)
    with requests.Session() as http:
        if request.param == "sqlite":
            yield cast(start_gateway, config, http)
            return
        require_service("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
        with postgres_schema() as url:
            yield cast(start_gateway, {**config, "database_url": url}, http)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/teams", {"name": "nul\u0000team"}),
        ("POST", "/keys", {"name": "nul\u0000key"}),
        ("POST", "/admins", {"name": "nul\u0000admin", "role": "viewer"}),
    ],
)
def test_a_nul_in_a_name_is_a_400_not_a_500(console_on: Console, method: str, path: str, body: dict) -> None:
    answer = console_on.call(method, path, json=body)
    assert answer.status_code == 400, answer.text
    assert "name" in answer.text


def test_a_nul_in_a_balance_note_is_a_400(console_on: Console) -> None:
    team = console_on.ids["team_a"]
    body = {"kind": "topup", "amount": "1", "note": "paid\u0000"}
    answer = console_on.call("POST", f"/teams/{team}/balance", json=body)
    assert answer.status_code == 400, answer.text
    assert "note" in answer.text
