"""The local token estimate of a Messages request."""

from __future__ import annotations

from onegate.dialects.anthropic_messages.request import estimate_input_tokens


def test_estimate_counts_text_tools_and_images():
    body = {
        "system": [{"type": "text", "text": "s" * 40}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "x" * 80}, {"type": "image", "source": {}}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}]},
        ],
    }
    assert estimate_input_tokens(body) == (40 + 80 + 2) // 4 + 1600
