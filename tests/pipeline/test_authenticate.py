"""The key is read from every header a client sends it in."""

from __future__ import annotations

import pytest

from onegate.pipeline.authenticate import extract_token


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"authorization": "Bearer sk-og-a"}, ("sk-og-a", "authorization")),
        ({"authorization": "bearer  sk-og-a "}, ("sk-og-a", "authorization")),
        ({"authorization": "Basic abc", "x-api-key": "sk-og-b"}, ("sk-og-b", "x-api-key")),
        ({"api-key": "sk-og-c"}, ("sk-og-c", "api-key")),
        ({"x-goog-api-key": "sk-og-d"}, ("sk-og-d", "x-goog-api-key")),
        ({"authorization": "Bearer "}, (None, None)),
        ({}, (None, None)),
    ],
)
def test_extract_token_reads_every_client_header(headers, expected):
    assert extract_token(headers) == expected
