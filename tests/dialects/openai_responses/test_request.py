"""Responses requests: validation names the bad parameter; what cannot be translated is refused."""

from __future__ import annotations

import pytest

from onegate.dialects.openai_responses import request
from onegate.dialects.pairs import plan_exchange
from onegate.errors import GatewayError


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "hi"}, "model"),
        ({"model": "m"}, "input"),
        ({"model": "m", "input": 3}, "input"),
        ({"model": "m", "input": "hi", "stream": "yes"}, "stream"),
    ],
)
def test_validate_names_the_bad_parameter(body, param):
    with pytest.raises(GatewayError) as info:
        request.validate(body)
    assert info.value.status == 400 and info.value.param == param


def test_stored_conversation_state_is_refused_when_translating():
    body = {"model": "m", "previous_response_id": "resp_1", "input": "and then?"}
    assert request.validate(body) == "m"  # a pass-through channel may still serve it
    with pytest.raises(GatewayError) as info:
        plan_exchange("openai_responses", "openai_chat", body, "up", False, 0)
    assert info.value.param == "previous_response_id" and "store: false" in info.value.message


def test_file_input_is_refused_naming_the_part_type_and_model():
    body = {"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f1"}]}]}
    with pytest.raises(GatewayError) as info:
        plan_exchange("openai_responses", "openai_chat", body, "up", False, 0)
    assert "'input_file'" in info.value.message and "'m'" in info.value.message


def test_cursor_quirk_needs_input_without_messages():
    assert request.looks_like_responses({"model": "m", "input": []})
    assert not request.looks_like_responses({"model": "m", "input": [], "messages": []})
