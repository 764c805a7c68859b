"""Model-name diagnosis: the 404 names the real names the key may use; optional resolution of safe variants."""

from __future__ import annotations

import openai
import pytest

from onegate.diagnosis.models import diagnose_model
from tests.conftest import UPSTREAM_SECRET, channel_config, raw_request
from tests.diagnosis.clients import headers

NAMES = [
    "gpt-4.1-mini",
    "gpt-4.1",
    "gpt-4o-2024-08-06",
    "gpt-4o-2024-11-20",
    "claude-sonnet-4-5",
    "claude-3-5-sonnet-20241022",
    "claude-haiku-4-5",
    "onegate-selftest",
]


@pytest.mark.parametrize(
    ("asked", "code", "first", "resolved"),
    [
        ("GPT-4.1-Mini", "model.case", "gpt-4.1-mini", "gpt-4.1-mini"),
        ("gpt 4.1 mini", "model.spacing", "gpt-4.1-mini", "gpt-4.1-mini"),
        ("gpt_4.1_mini", "model.spacing", "gpt-4.1-mini", "gpt-4.1-mini"),
        ("openai/gpt-4.1-mini", "model.vendor_prefix", "gpt-4.1-mini", "gpt-4.1-mini"),
        ("anthropic/claude-sonnet-4.5", "model.vendor_prefix", "claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", "model.dated", "claude-sonnet-4-5", "claude-sonnet-4-5"),
        (
            "claude-haiku-4-5-20251001",
            "model.dated",
            "claude-haiku-4-5",
            "claude-haiku-4-5",
        ),  # Claude Code's background
        ("gpt-4.1-mini-2025-04-14", "model.dated", "gpt-4.1-mini", "gpt-4.1-mini"),
        ("claude-3-5-sonnet", "model.undated", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20241022"),
        ("gpt-4o", "model.undated", "gpt-4o-2024-08-06", None),  # two snapshots: the user picks
        ("GPT-4o", "model.undated", "gpt-4o-2024-08-06", None),
        ("Claude 3.5 Sonnet", "model.marketing_name", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20241022"),
        ("Claude Sonnet 4.5", "model.marketing_name", "claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-3-5-sonnet-20240620", "model.other_snapshot", "claude-3-5-sonnet-20241022", None),
        ("sonnet", "model.family_alias", "claude-sonnet-4-5", None),  # Claude Code's alias
        ("haiku", "model.family_alias", "claude-haiku-4-5", None),
        ("claude-sonet-4-5", "model.unknown", "claude-sonnet-4-5", None),
    ],
)
def test_each_cause_is_named_with_the_closest_real_names(asked, code, first, resolved):
    finding = diagnose_model(asked, NAMES)
    assert (finding.code, finding.suggestions[0], finding.resolved) == (code, first, resolved)
    assert len(finding.suggestions) <= 3


def test_nonsense_has_no_suggestions():
    assert diagnose_model("zzzz", NAMES).suggestions == ()


def test_suggestions_only_come_from_the_names_given():
    assert "gpt-4.1-mini" not in diagnose_model("gpt-4.1-min", ["onegate-selftest"]).suggestions


MODELS_CONFIG = {"models": ["gpt-4.1-mini", "claude-haiku-4-5"], "aliases": {}}


@pytest.fixture
def gateway_with_models(start_gateway, upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET

    def start(**extra):
        return start_gateway({**channel_config(upstream, **MODELS_CONFIG), **extra})

    return start


def test_pattern_22_claude_code_background_model_gets_404_naming_the_real_one(gateway_with_models):
    gw = gateway_with_models()
    body = {"model": "claude-haiku-4-5-20251001", "messages": [{"role": "user", "content": "title"}]}
    response = raw_request("POST", gw.base_url + "/chat/completions", body, headers("openai-python", gw.key))
    assert response.status == 404
    error = response.json()["error"]
    assert error["code"] == "model_not_found"
    assert "without the date suffix" in error["message"] and "Did you mean: claude-haiku-4-5" in error["message"]
    assert response.headers["x-onegate-hint"].partition(";")[0] == "model.dated"
    assert gw.log(response.headers["x-request-id"])["config_hint"] == "model.dated"


def test_pattern_22_marketing_name_via_the_sdk(gateway_with_models):
    gw = gateway_with_models()
    with pytest.raises(openai.NotFoundError) as info:
        gw.client().chat.completions.create(model="GPT-4.1 Mini", messages=[{"role": "user", "content": "hi"}])
    assert info.value.code == "model_not_found"
    assert "'GPT-4.1 Mini' is a product name" in info.value.message and "gpt-4.1-mini" in info.value.message


def test_operator_can_resolve_unambiguous_variants_and_it_is_logged(gateway_with_models, upstream):
    gw = gateway_with_models(resolve_model_variants=True)
    reply = gw.client().chat.completions.with_raw_response.create(
        model="openai/GPT-4.1-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.http_response.status_code == 200
    assert reply.headers["x-onegate-hint"].partition(";")[0] == "model.vendor_prefix"
    assert upstream.requests[-1].json["model"] == "gpt-4.1-mini"
    row = gw.log(reply.headers["x-request-id"])
    assert (row["model_requested"], row["model_routed"]) == ("openai/GPT-4.1-mini", "gpt-4.1-mini")
    assert row["config_hint"] == "model.vendor_prefix"
    assert "model 'openai/GPT-4.1-mini' served as 'gpt-4.1-mini'" in row["notes"]


def test_resolution_never_guesses_between_snapshots_or_shorthands(gateway_with_models):
    gw = gateway_with_models(resolve_model_variants=True)
    for asked in ("haiku", "gpt-4"):
        with pytest.raises(openai.NotFoundError):
            gw.client().chat.completions.create(model=asked, messages=[{"role": "user", "content": "hi"}])


def test_resolution_stays_within_the_models_the_key_may_use(gateway_with_models):
    gw = gateway_with_models(resolve_model_variants=True)
    narrow = gw.create_key("narrow", models=["claude-haiku-4-5"])
    with pytest.raises(openai.NotFoundError) as info:
        gw.client(api_key=narrow).chat.completions.create(
            model="GPT-4.1-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert "gpt-4.1-mini" not in info.value.message


def test_model_hint_header_names_the_model_to_use(gateway_with_models):
    gw = gateway_with_models()
    body = {"model": "claude-haiku-4-5-20251001", "messages": [{"role": "user", "content": "title"}]}
    response = raw_request("POST", gw.base_url + "/chat/completions", body, headers("openai-python", gw.key))
    assert response.headers["x-onegate-hint"] == "model.dated; Set the model name to claude-haiku-4-5"
    unknown = {**body, "model": "no-such-model-at-all"}
    response = raw_request("POST", gw.base_url + "/chat/completions", unknown, headers("openai-python", gw.key))
    assert response.headers["x-onegate-hint"] == "model.unknown; Pick a model from GET /api/v1/models"


def close_matches(model: str, names: list[str], limit: int = 3) -> list[str]:
    """Up to `limit` real names close to `model`, best first."""
    return list(diagnose_model(model, names, limit).suggestions)


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("openai/gpt-4.1-mini", "gpt-4.1-mini"),
        ("GPT-4.1-Mini", "gpt-4.1-mini"),
        ("gpt 4.1 mini", "gpt-4.1-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("claude-sonet-4", "claude-sonnet-4"),
    ],
)
def test_close_matches_find_the_real_name(asked, expected):
    names = ["gpt-4.1-mini", "gpt-4.1", "claude-sonnet-4", "onegate-selftest"]
    assert close_matches(asked, names)[0] == expected


def test_close_matches_caps_at_three_and_finds_nothing_for_nonsense():
    assert len(close_matches("gpt", ["gpt-1", "gpt-2", "gpt-3", "gpt-4"])) == 3
    assert close_matches("zzzz", ["gpt-4.1-mini"]) == []
