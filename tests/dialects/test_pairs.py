"""Planning an exchange between two dialects refuses what no target can carry."""

from __future__ import annotations

import pytest

from onegate.dialects.pairs import plan_exchange
from onegate.errors import GatewayError


def test_a_vendor_tool_no_target_can_carry_is_refused_for_every_pair():
    chat_custom = {"type": "custom", "custom": {"name": "grep"}}
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [chat_custom]}
    with pytest.raises(GatewayError) as info:
        plan_exchange("openai_chat", "openai_responses", body, "up", False, 0)
    assert "'custom'" in info.value.message and info.value.param == "tools"
