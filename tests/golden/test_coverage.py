"""The golden table is complete: every supported (client dialect, upstream dialect) pair has a case for every
kind of content, or an explicit `n/a` saying why the pair cannot have one.

Each case names what it covers in meta.json (`"covers": [...]`), and each tag is checked against the case's
files, so a tag cannot claim what the case does not show.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from onegate.providers.anthropic import AnthropicProvider
from onegate.providers.http import SessionFactory
from onegate.providers.openai_compatible import OpenAICompatibleProvider
from onegate.providers.protocol import Provider
from onegate.providers.selftest import SelftestProvider
from onegate.settings import ChannelConfig
from tests.golden.test_golden import CASES, parse_sse

# (client dialect, upstream dialect): every pair a channel can produce for the three client surfaces (checked
# below), plus Chat → Responses: no channel routes a Chat client to a Responses upstream yet (a `responses_api`
# channel serves Chat natively), but the hub translates the pair and it is the likeliest next one. Messages →
# Responses is the other pair no channel produces; it stays out until one does. Cursor's Responses body on
# /chat/completions (`openai_chat_responses_body`) is a parsing quirk with its own case, not a surface.
PAIRS = [
    ("openai_chat", "anthropic_messages"),
    ("anthropic_messages", "openai_chat"),
    ("openai_chat", "openai_responses"),
    ("openai_responses", "openai_chat"),
    ("openai_responses", "anthropic_messages"),
    ("openai_chat", "openai_chat"),
    ("anthropic_messages", "anthropic_messages"),
    ("openai_responses", "openai_responses"),
]

TAGS = (
    "text",
    "tool_call",
    "tool_result",
    "image_input",
    "reasoning",
    "cached_usage",
    "error_before_first_byte",
    "error_mid_stream",
)

# The only cells allowed to stay empty, each with the reason. Nothing is listed today: every cell has a case.
NOT_APPLICABLE: dict[tuple[str, str, str], str] = {}

# What each dialect writes for a tag, as a JSON key or value: a tagged case must show it where the tag says.
_TEXT = {
    "openai_chat": re.compile(rb'"content":"[^"]'),
    "anthropic_messages": re.compile(rb'"text":"[^"]'),
    "openai_responses": re.compile(rb'"type":"(response\.)?output_text'),
}
_TOOL_CALL = {
    "openai_chat": b'"tool_calls":[',
    "anthropic_messages": b'"type":"tool_use"',
    "openai_responses": b'_call"',  # function_call, custom_tool_call
}
_TOOL_RESULT = {
    "openai_chat": b'"role":"tool"',
    "anthropic_messages": b'"type":"tool_result"',
    "openai_responses": b'_call_output"',
}
_IMAGE = {"openai_chat": b'"image_url"', "anthropic_messages": b'"type":"image"', "openai_responses": b'"input_image"'}
_REASONING_ASKED = {  # reasoning settings, or reasoning from an earlier turn, in a request
    "openai_chat": re.compile(rb'"reasoning_effort":"|"reasoning_content":"[^"]'),
    "anthropic_messages": re.compile(rb'"thinking":\{"type":"(enabled|adaptive)"|"type":"thinking"'),
    "openai_responses": re.compile(rb'"reasoning":\{"effort":"|"type":"reasoning"'),
}
_REASONING_ANSWERED = {  # reasoning in an answer
    "openai_chat": re.compile(rb'"reasoning_content":"[^"]'),
    "anthropic_messages": re.compile(rb'"type":"thinking"|"type":"thinking_delta"'),
    "openai_responses": re.compile(rb'"type":"reasoning"'),
}
_CACHED = {  # a non-zero count of cached prompt tokens
    "openai_chat": re.compile(rb'"cached_tokens":[1-9]'),
    "anthropic_messages": re.compile(rb'"cache_read_input_tokens":[1-9]'),
    "openai_responses": re.compile(rb'"cached_tokens":[1-9]'),
}


def _meta(case: Path) -> dict:
    return orjson.loads((case / "meta.json").read_bytes())


def _compact(case: Path, *names: str) -> bytes:
    """The named files of a case with JSON re-serialized compactly (so markers match regardless of spacing)."""
    out = b""
    for name in names:
        path = case / name
        if not path.exists():
            continue
        if name.endswith(".json"):
            out += orjson.dumps(orjson.loads(path.read_bytes()))
        else:
            out += b"".join(orjson.dumps(data) for _event, data in parse_sse(path.read_bytes()))
    return out


def _client_output(case: Path) -> bytes:
    return _compact(case, "client_response.json", "client_stream.sse")


def _ends_in_stream_error(case: Path, dialect: str) -> bool:
    path = case / "client_stream.sse"
    if not path.exists():
        return False
    name, data = parse_sse(path.read_bytes())[-1]
    if dialect == "anthropic_messages":
        return name == "error"
    if dialect == "openai_responses":
        return isinstance(data, dict) and data.get("type") == "response.failed"
    return isinstance(data, dict) and "error" in data


def _shows(case: Path, tag: str) -> bool:
    """Does the case's data show what `tag` claims, in the client's and the upstream's dialects?"""
    meta = _meta(case)
    client, upstream = meta["inbound"], meta["upstream"]
    request = _compact(case, "client_request.json")
    sent = _compact(case, "upstream_request.json")
    answer = _compact(case, "upstream_response.json", "upstream_stream.sse")
    output = _client_output(case)
    if tag == "text":
        return bool(_TEXT[upstream].search(answer) and _TEXT[client].search(output))
    if tag == "tool_call":
        return _TOOL_CALL[upstream] in answer and _TOOL_CALL[client] in output
    if tag == "tool_result":
        return _TOOL_RESULT[client] in request and _TOOL_RESULT[upstream] in sent
    if tag == "image_input":
        return _IMAGE[client] in request and _IMAGE[upstream] in sent
    if tag == "reasoning":
        asked = _REASONING_ASKED[client].search(request) and _REASONING_ASKED[upstream].search(sent)
        answered = _REASONING_ANSWERED[upstream].search(answer) and _REASONING_ANSWERED[client].search(output)
        return bool(asked or answered)
    if tag == "cached_usage":
        return bool(_CACHED[upstream].search(answer) and _CACHED[client].search(output))
    if tag == "error_before_first_byte":
        return (case / "upstream_error.json").exists() and (case / "client_error.json").exists()
    if tag == "error_mid_stream":
        return (case / "upstream_stream.sse").exists() and _ends_in_stream_error(case, client)
    raise AssertionError(f"unknown tag {tag}")


CLIENT_SURFACES = ("openai_chat", "anthropic_messages", "openai_responses")


def test_the_table_lists_every_pair_a_channel_can_produce():
    """A new provider or surface (Gemini, images, …) joins the table before it ships."""
    sessions = SessionFactory()
    providers: list[Provider] = [
        OpenAICompatibleProvider(ChannelConfig(name="o", base_url="http://127.0.0.1:9/v1"), sessions),
        OpenAICompatibleProvider(
            ChannelConfig(name="r", base_url="http://127.0.0.1:9/v1", responses_api=True), sessions
        ),
        AnthropicProvider(ChannelConfig(name="a", type="anthropic", base_url="http://127.0.0.1:9/v1"), sessions),
        SelftestProvider("onegate-selftest"),
    ]
    # as forwarding picks the upstream dialect: the client's own when the channel speaks it natively
    produced = {
        (client, client if client in provider.native_dialects else provider.dialect)
        for provider in providers
        for client in CLIENT_SURFACES
    }
    assert produced <= set(PAIRS), f"pairs a channel produces that the table lacks: {produced - set(PAIRS)}"


TAGGED = [(case, tag) for case in CASES for tag in _meta(case).get("covers", [])]


@pytest.mark.parametrize(("case", "tag"), TAGGED, ids=[f"{c.name}-{t}" for c, t in TAGGED])
def test_each_tag_is_shown_by_its_case(case: Path, tag: str):
    assert tag in TAGS, f"{case.name}: unknown tag {tag!r} (one of {TAGS})"
    assert _shows(case, tag), f"{case.name} is tagged {tag!r} but its files do not show it"


def test_every_supported_pair_has_a_case_for_every_kind_of_content():
    covered: dict[tuple[str, str, str], list[str]] = {}
    for case in CASES:
        meta = _meta(case)
        for tag in meta.get("covers", []):
            covered.setdefault((meta["inbound"], meta["upstream"], tag), []).append(case.name)
    empty = [
        f"{client} -> {upstream}: {tag}"
        for client, upstream in PAIRS
        for tag in TAGS
        if (client, upstream, tag) not in covered and (client, upstream, tag) not in NOT_APPLICABLE
    ]
    assert not empty, "empty cells in the golden table:\n" + "\n".join(empty)
    stale = [cell for cell in NOT_APPLICABLE if cell in covered]
    assert not stale, f"marked n/a yet covered by a case: {stale}"


def test_every_case_in_a_supported_pair_says_what_it_covers():
    """`covers` may be empty (a case about something else, such as a request-only quirk), but never missing."""
    in_pairs = [c for c in CASES if (_meta(c)["inbound"], _meta(c)["upstream"]) in PAIRS]
    untagged = [c.name for c in in_pairs if "covers" not in _meta(c)]
    assert not untagged, f"cases without 'covers' in meta.json: {untagged}"
