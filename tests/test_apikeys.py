"""Key masks and duration strings."""

from __future__ import annotations

from onegate.apikeys import mask_key, parse_duration


def test_mask_and_durations():
    assert mask_key("sk-og-abcdefgh1234") == "sk-…1234"
    assert parse_duration("30d") == 30 * 86400
    assert parse_duration("12h") == 43200
    assert parse_duration("90") == 90
