"""Schemathesis against the served OpenAPI document: every operation, generated inputs, as the owner; no
answer is a 5xx and every answer matches its documented status, content type and schema. Bounded: a few
examples per operation, so the run stays well under a minute."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings

from onegate.app import Gateway
from onegate.settings import load_settings
from onegate.store.keys import create_key
from onegate.store.migrations import migrate
from tests.admin.conftest import BOOTSTRAP
from tests.conftest import _ServerThread, channel_config, free_port

EXAMPLES = int(os.environ.get("ONEGATE_FUZZ_EXAMPLES", "10"))


@pytest.fixture(scope="module")
def api_root(tmp_path_factory: pytest.TempPathFactory, _upstream_server) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("fuzz")
    config = tmp / "onegate.yaml"
    config.write_text(yaml.safe_dump(channel_config(_upstream_server)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONEGATE_ADMIN_TOKEN", BOOTSTRAP)
        gateway = Gateway(load_settings(data_dir=Path(tmp / "data"), config_path=config))
    migrate(gateway.engine)
    create_key(gateway.engine, "fuzz")
    port = free_port()
    server = _ServerThread(gateway, port)
    server.start()
    root = f"http://127.0.0.1:{port}"
    # something to find: a team, a key in it, an admin
    headers = {"authorization": f"Bearer {BOOTSTRAP}"}
    team = requests.post(root + "/admin/api/v1/teams", json={"name": "fuzz-team"}, headers=headers, timeout=30).json()
    requests.post(root + "/admin/api/v1/keys", json={"name": "k", "team_id": team["id"]}, headers=headers, timeout=30)
    yield root
    server.stop()


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


def test_every_operation_answers_within_its_documented_shapes(api_root: str) -> None:
    schema = schemathesis.openapi.from_url(api_root + "/admin/api/v1/openapi.json")
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"authorization": f"Bearer {BOOTSTRAP}"}, checks=CHECKS)

        try:
            exercise()
        except Exception as exc:  # collect every operation's failure, then report them together
            failures[operation.label] = str(exc)[:2000]
    assert operations >= 30
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
