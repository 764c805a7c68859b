"""One parametrized runner for every translation golden case (see README.md beside this file)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from onegate import errors
from onegate.dialects.pairs import plan_exchange
from onegate.dialects.protocols import UpstreamStreamError
from onegate.errors import GatewayError
from onegate.sse import SSESplitter, event_fields

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if (p / "meta.json").exists())
CREATED = 1_700_000_000


def _json(path: Path):
    return orjson.loads(path.read_bytes())


def parse_sse(raw: bytes) -> list[tuple[str | None, object]]:
    """(event name, data as JSON or text) for each event; comments and pings by name only."""
    events = []
    for block in SSESplitter().feed(raw.replace(b"\r\n", b"\n")):
        name, data = event_fields(block)
        if data is None and name is None:
            continue
        try:
            value: object = orjson.loads(data or b"")
        except orjson.JSONDecodeError:
            value = (data or b"").decode()
        events.append((name, value))
    return events


def _plan(case: Path):
    meta = _json(case / "meta.json")
    request = _json(case / "client_request.json")
    plan = plan_exchange(meta["inbound"], meta["upstream"], request, meta["model"], meta.get("stream", False), CREATED)
    return meta, plan


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_case(case: Path):
    meta, plan = _plan(case)
    checked = 0
    if (case / "upstream_request.json").exists():
        assert orjson.loads(plan.body) == _json(case / "upstream_request.json")
        checked += 1
    if "notes" in meta:  # what the translation says it dropped, as the request log will show it
        assert plan.notes == meta["notes"]
    if (case / "upstream_response.json").exists():
        out, _usage = plan.translate_body((case / "upstream_response.json").read_bytes())
        assert orjson.loads(out) == _json(case / "client_response.json")
        checked += 1
    if (case / "upstream_stream.sse").exists():
        relay = plan.new_relay()
        out = b""
        splitter = SSESplitter()
        try:
            for event in splitter.feed((case / "upstream_stream.sse").read_bytes()):
                out += relay.feed(event) or b""
            out += relay.end()
            if not relay.done:
                raise UpstreamStreamError("the upstream ended the stream before finishing its answer")
        except UpstreamStreamError as exc:
            out += relay.fail(GatewayError(errors.UPSTREAM_BAD_RESPONSE, str(exc)), "req_golden")
        assert parse_sse(out) == parse_sse((case / "client_stream.sse").read_bytes())
        checked += 1
    if (case / "client_error.json").exists():
        from onegate.dialects.render import render_error
        from onegate.pipeline.exchange import refused_by_upstream, upstream_said
        from onegate.redaction import UpstreamText

        said, code = upstream_said((case / "upstream_error.json").read_bytes(), UpstreamText())
        error = refused_by_upstream("golden", meta["upstream_status"], said, code)
        assert orjson.loads(render_error(meta["inbound"], error, "req_golden")) == _json(case / "client_error.json")
        checked += 1
    assert checked, f"{case.name} has no pair of files to compare"


RESPONSES_STREAMS = [
    c for c in CASES if (c / "client_stream.sse").exists() and _json(c / "meta.json")["inbound"] == "openai_responses"
]


@pytest.mark.parametrize("case", RESPONSES_STREAMS, ids=[c.name for c in RESPONSES_STREAMS])
def test_responses_client_stream_is_accepted_by_the_openai_sdk(case: Path):
    """Every Responses stream onegate writes goes through the openai SDK's own accumulator (responses.stream())."""
    from openai import omit
    from openai._models import construct_type_unchecked
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    request = _json(case / "client_request.json")
    state = ResponseStreamState(input_tools=request.get("tools") or [], text_format=omit)
    events = [data for _name, data in parse_sse((case / "client_stream.sse").read_bytes())]
    for data in events:
        state.handle_event(construct_type_unchecked(type_=ResponseStreamEvent, value=data))
    assert events[-1]["type"] in ("response.completed", "response.incomplete", "response.failed")
    if events[-1]["type"] == "response.completed":
        final = state._completed_response
        assert final is not None and final.id == events[-1]["response"]["id"]
        assert [item.id for item in final.output] == [
            e["item"]["id"] for e in events if e["type"] == "response.output_item.done"
        ]
