"""Flattened tool names map back to their namespace and tool."""

from __future__ import annotations

from onegate.dialects.openai_responses.tools import CallTargets, custom_input


def test_call_targets_map_flattened_names_back():
    tools = [
        {"type": "custom", "name": "apply_patch"},
        {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "f"}]},
        {"type": "function", "name": "plain"},
    ]
    targets = CallTargets(tools)
    assert targets.target("apply_patch").custom
    assert (targets.target("ns__f").name, targets.target("ns__f").namespace) == ("f", "ns")
    assert targets.target("plain").namespace is None and not targets.target("plain").custom
    assert custom_input('{"input": "x"}') == "x" and custom_input("not json") == "not json"
