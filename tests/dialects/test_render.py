"""Every error in the catalog renders in every dialect family with that vendor's documented error shape."""

from __future__ import annotations

import orjson
import pytest

from onegate import errors
from onegate.dialects import render
from onegate.dialects.anthropic_messages.errors import error_event as anthropic_error_event
from onegate.dialects.openai_chat.stream import error_event as chat_error_event
from onegate.dialects.openai_responses.errors import failure_of
from onegate.errors import ErrorKind, GatewayError

CATALOG = sorted(
    {v for v in vars(errors).values() if isinstance(v, ErrorKind)}
    # what an upstream's own error becomes, for the statuses the vendors use
    | {
        errors.upstream_kind(status, None)
        for status in (400, 401, 402, 403, 404, 408, 409, 413, 422, 429, 500, 503, 529)
    }
    | {errors.upstream_kind(400, "context_length_exceeded")},
    key=lambda k: (k.status, k.code),
)


KIND_IDS = [f"{k.status}-{k.code}" for k in CATALOG]


DIALECT_OF_FAMILY = {"openai": "openai_chat", "anthropic": "anthropic_messages", "gemini": "gemini_generate_content"}


# OpenAI: {"error": {"message", "type", "param", "code"}}; the types its API and SDKs use.
OPENAI_TYPES = {
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "rate_limit_error",
    "insufficient_quota",
    "server_error",
}


# Anthropic: {"type": "error", "error": {"type", "message"}, "request_id"}; documented types by status
# (docs: "invalid_request_error ... may also be used for other 4XX status codes not listed").
ANTHROPIC_TYPE_OF_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


ANTHROPIC_5XX = {"api_error", "overloaded_error", "timeout_error"}


# Gemini (google.rpc.Status): {"error": {"code": HTTP status, "message", "status": canonical code name}}.
GOOGLE_STATUS_OF_HTTP = {
    400: {"INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE"},
    401: {"UNAUTHENTICATED"},
    403: {"PERMISSION_DENIED"},
    404: {"NOT_FOUND"},
    409: {"ABORTED", "ALREADY_EXISTS"},
    429: {"RESOURCE_EXHAUSTED"},
    499: {"CANCELLED"},
    500: {"INTERNAL", "UNKNOWN", "DATA_LOSS"},
    501: {"UNIMPLEMENTED"},
    503: {"UNAVAILABLE"},
    504: {"DEADLINE_EXCEEDED"},
}


GOOGLE_CODES = set().union(*GOOGLE_STATUS_OF_HTTP.values())


def _error(kind: ErrorKind) -> GatewayError:
    return GatewayError(kind, f"something about {kind.code}", param="model" if kind.status == 400 else None)


def test_the_test_knows_every_family():
    assert set(DIALECT_OF_FAMILY) == set(render._BY_FAMILY)
    assert {render.family_of(d) for d in DIALECT_OF_FAMILY.values()} == set(DIALECT_OF_FAMILY)


@pytest.mark.parametrize("kind", CATALOG, ids=KIND_IDS)
def test_openai_family_renders_the_documented_shape(kind: ErrorKind):
    for dialect in ("openai_chat", "openai_responses", "openai_completions", "openai_embeddings"):
        body = orjson.loads(render.render_error(dialect, _error(kind), "req_1"))
        assert set(body) == {"error"}
        error = body["error"]
        assert {"message", "type", "param", "code"} <= set(error)
        assert error["message"] == f"something about {kind.code}"
        assert error["type"] in OPENAI_TYPES
        assert error["code"] == kind.code and isinstance(error["code"], str)
        assert error["param"] in (None, "model")


@pytest.mark.parametrize("kind", CATALOG, ids=KIND_IDS)
def test_anthropic_family_renders_the_documented_shape(kind: ErrorKind):
    for dialect in ("anthropic_messages", "anthropic_count_tokens"):
        body = orjson.loads(render.render_error(dialect, _error(kind), "req_1"))
        assert body == {
            "type": "error",
            "error": {"type": kind.anthropic_type, "message": f"something about {kind.code}"},
            "request_id": "req_1",
        }
    documented = ANTHROPIC_TYPE_OF_STATUS.get(kind.status)
    if documented is not None and not (kind.status == 500 and kind.anthropic_type in ANTHROPIC_5XX):
        assert kind.anthropic_type == documented
    elif kind.status >= 500:
        assert kind.anthropic_type in ANTHROPIC_5XX
    else:
        assert kind.anthropic_type in set(ANTHROPIC_TYPE_OF_STATUS.values()) - ANTHROPIC_5XX


@pytest.mark.parametrize("kind", CATALOG, ids=KIND_IDS)
def test_gemini_family_renders_the_documented_shape(kind: ErrorKind):
    body = orjson.loads(render.render_error("gemini_generate_content", _error(kind), "req_1"))
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "status"}
    assert body["error"]["code"] == kind.status
    assert body["error"]["message"] == f"something about {kind.code}"
    status = body["error"]["status"]
    assert status in GOOGLE_CODES
    if kind.status in GOOGLE_STATUS_OF_HTTP:
        assert status in GOOGLE_STATUS_OF_HTTP[kind.status]


@pytest.mark.parametrize("kind", CATALOG, ids=KIND_IDS)
def test_errors_inside_a_stream_keep_each_dialects_shape(kind: ErrorKind):
    error = _error(kind)
    chat = chat_error_event(error, "req_1")
    assert chat.startswith(b"data: ") and chat.endswith(b"\n\n")
    assert orjson.loads(chat[6:]) == orjson.loads(render.render_error("openai_chat", error, "req_1"))

    name, data = anthropic_error_event(error, "req_1").rstrip(b"\n").split(b"\n")
    assert name == b"event: error"
    assert orjson.loads(data.removeprefix(b"data: "))["error"]["type"] == kind.anthropic_type

    failure = failure_of(error)  # response.failed's `error`: a code Codex acts on, or server_error
    assert set(failure) == {"code", "message"}
    assert failure["code"] in (
        "context_length_exceeded",
        "insufficient_quota",
        "usage_not_included",
        "rate_limit_exceeded",
        "server_error",
    )
    assert failure["message"].startswith(f"something about {kind.code}")
