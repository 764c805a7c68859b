"""On Anthropic paths every refusal is Anthropic-shaped (`{"type":"error","error":{"type","message"},
"request_id"}`) from the same catalog as the OpenAI paths; /models speaks each client's list shape."""

from __future__ import annotations

import anthropic
import pytest

from tests.conftest import raw_request
from tests.records import count_logs

MESSAGES = [{"role": "user", "content": "hi"}]
BODY = {"model": "onegate-selftest", "max_tokens": 10, "messages": MESSAGES}


def _anthropic_error(response) -> dict:
    body = response.json()
    assert set(body) == {"type", "error", "request_id"} and body["type"] == "error"
    assert set(body["error"]) == {"type", "message"}
    assert body["request_id"] == response.headers["x-request-id"]
    return body["error"]


def test_missing_key_is_authentication_error(start_gateway):
    gw = start_gateway()
    response = raw_request("POST", gw.base_url + "/messages", BODY, {"anthropic-version": "2023-06-01"})
    assert response.status == 401
    error = _anthropic_error(response)
    assert error["type"] == "authentication_error" and "x-api-key" in error["message"]
    assert response.headers["x-should-retry"] == "false"  # Claude Code would otherwise retry a 401 for minutes


@pytest.mark.parametrize("x_api_key", [True, False], ids=["x-api-key", "bearer"])
def test_wrong_key_raises_the_sdks_authentication_error(start_gateway, x_api_key):
    gw = start_gateway()
    client = gw.anthropic_client(x_api_key=x_api_key, api_key="sk-og-notarealkey1234")
    with pytest.raises(anthropic.AuthenticationError) as info:
        client.messages.create(**BODY)
    assert info.value.body["error"]["type"] == "authentication_error"
    assert "…1234" in info.value.body["error"]["message"]
    header = "x-api-key" if x_api_key else "authorization"
    assert header in info.value.body["error"]["message"]


def test_unknown_model_is_not_found_error_with_close_matches(claude_gateway):
    with pytest.raises(anthropic.NotFoundError) as info:
        claude_gateway.anthropic_client().messages.create(model="claude-sonet-4-6", max_tokens=10, messages=MESSAGES)
    error = info.value.body["error"]
    assert error["type"] == "not_found_error" and "claude-sonnet-4-6" in error["message"]
    row = claude_gateway.log(info.value.response.headers["x-request-id"])
    assert (row["status"], row["error_code"], row["dialect"]) == (404, "model_not_found", "anthropic_messages")


def test_count_tokens_for_an_unknown_model_is_not_found_not_a_bare_404(start_gateway):
    gw = start_gateway()
    with pytest.raises(anthropic.NotFoundError) as info:
        gw.anthropic_client().messages.count_tokens(model="nope", messages=MESSAGES)
    assert info.value.body["error"]["type"] == "not_found_error"


def test_invalid_body_is_invalid_request_error(start_gateway):
    gw = start_gateway()
    headers = {"x-api-key": gw.key, "content-type": "application/json"}
    no_messages = raw_request("POST", gw.base_url + "/messages", {"model": "onegate-selftest"}, headers)
    assert no_messages.status == 400
    assert _anthropic_error(no_messages) == {
        "type": "invalid_request_error",
        "message": "messages: Field required (an array)",
    }
    not_json = raw_request("POST", gw.base_url + "/messages", b"{nope", headers)
    assert not_json.status == 400 and _anthropic_error(not_json)["type"] == "invalid_request_error"


def test_model_not_allowed_for_the_key_is_permission_error(start_gateway):
    gw = start_gateway()
    key = gw.create_key("limited", models=["some-other-model"])
    with pytest.raises(anthropic.PermissionDeniedError) as info:
        gw.anthropic_client(api_key=key).messages.create(**BODY)
    assert info.value.body["error"]["type"] == "permission_error"


def test_models_list_in_anthropic_shape_for_anthropic_clients(start_gateway):
    gw = start_gateway()
    page = gw.anthropic_client().models.list()
    assert [(m.type, m.id, m.display_name) for m in page.data] == [("model", "onegate-selftest", "onegate-selftest")]
    raw = raw_request("GET", gw.base_url + "/models?limit=1000", headers={"x-api-key": gw.key})
    assert raw.json() == {
        "data": [
            {
                "type": "model",
                "id": "onegate-selftest",
                "display_name": "onegate-selftest",
                "created_at": "1970-01-01T00:00:00Z",
            }
        ],
        "has_more": False,
        "first_id": "onegate-selftest",
        "last_id": "onegate-selftest",
    }
    openai_shape = raw_request("GET", gw.base_url + "/models", headers={"authorization": f"Bearer {gw.key}"})
    assert openai_shape.json()["object"] == "list"
    cherry = raw_request(
        "GET", gw.base_url + "/models", headers={"authorization": f"Bearer {gw.key}", "x-api-key": gw.key}
    )
    assert cherry.json()["object"] == "list"  # older Cherry Studio sends both and wants OpenAI's shape
    one = gw.anthropic_client().models.retrieve("onegate-selftest")
    assert (one.type, one.id) == ("model", "onegate-selftest")
    unauthenticated = raw_request("GET", gw.base_url + "/models", headers={"anthropic-version": "2023-06-01"})
    assert unauthenticated.status == 401 and _anthropic_error(unauthenticated)["type"] == "authentication_error"


def test_head_on_the_anthropic_base_is_200_and_not_logged(start_gateway):
    gw = start_gateway()
    response = raw_request("HEAD", gw.root + "/api", headers={"user-agent": "Bun/1.4.0"})
    assert response.status == 200 and response.body == b""
    logged = raw_request("POST", gw.base_url + "/messages", BODY, {"x-api-key": gw.key})
    gw.log(logged.headers["x-request-id"])  # the writer has caught up: the HEAD would be there by now
    assert count_logs(gw.gateway.engine) == 1
