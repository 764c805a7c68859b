"""Route normalisation: the API suffix after any prefix, wrong methods told from unknown paths."""

from __future__ import annotations

import pytest

from onegate.server.routes import api_suffix, match, normalise


@pytest.mark.parametrize(
    ("path", "suffix"),
    [
        ("/api/v1/chat/completions", "/chat/completions"),
        ("/v1/chat/completions", "/chat/completions"),
        ("/api/v1//chat/completions/", "/chat/completions"),
        ("/api/v1x/chat/completions", None),
        ("/chat/completions", None),
    ],
)
def test_api_suffix_after_normalising(path, suffix):
    assert api_suffix(normalise(path)) == suffix


def test_match_knows_wrong_methods_from_unknown_paths():
    assert match("POST", "/api/v1/chat/completions")[0] is not None
    assert match("GET", "/api/v1/chat/completions") == (None, True)
    assert match("POST", "/api/v1/nothing") == (None, False)
    assert match("GET", "/api/v1/models/gpt-4.1")[0] is not None
