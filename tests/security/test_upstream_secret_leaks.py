"""Attack: an upstream that repeats onegate's credential (and the prompt) in its errors.

Some vendors and the proxies in front of them echo the request's `Authorization` / `x-api-key` header
in an error body (JSON or an HTML page) or in an error event mid-stream. Whoever holds an onegate key could
then read the operator's upstream key from onegate's answer, and the key would land in the request log,
the journal, the channel state, `onegate channels list` and the server's own output.

The fake vendors here echo the headers and the body they received. Every surface (Chat, Messages,
Responses), stream or not, pass-through and translated, is tried against 400/401/403/429/500/502 in
both body formats and against error events before and after the first byte; then the channel keys
(whole, and their last 8 characters) must be absent from every answer, every database row, every file
under the data dir and everything the server printed. The prompt the upstream quoted must not be stored
either (onegate stores no prompts): what an upstream's words share with the request is cut from them.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from tests.conftest import RunningGateway, anthropic_channel, channel, raw_request

# Opaque secrets (no vendor prefix): only the channel's own key value can recognise them.
OPENAI_KEY = "opaque-openai-credential-7f3a9c2e"
ANTHROPIC_KEY = "opaque-anthropic-credential-51d0b8a4"
SECRETS = (OPENAI_KEY, ANTHROPIC_KEY, OPENAI_KEY[-8:], ANTHROPIC_KEY[-8:])
PROMPT = "my private prompt: the launch code is 0000"
STATUSES = (400, 401, 403, 429, 500, 502, 200)  # 200: an error body sent with a success status

# (surface path, model, dialect family) — pass-through and translated pairs of each surface
PAIRS = {
    "chat-passthrough": ("/chat/completions", "gpt-leak"),
    "chat-to-anthropic": ("/chat/completions", "claude-leak"),
    "messages-passthrough": ("/messages", "claude-leak"),
    "messages-to-chat": ("/messages", "gpt-leak"),
    "responses-passthrough": ("/responses", "gpt-resp"),
    "responses-to-chat": ("/responses", "gpt-leak"),
    "responses-to-anthropic": ("/responses", "claude-leak"),
}


def _body(path: str, model: str, stream: bool) -> dict:
    if path == "/responses":
        return {"model": model, "input": PROMPT, "stream": stream}
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "stream": stream}
    return {**body, "max_tokens": 20} if path == "/messages" else body


def _config(upstream, anthropic_upstream) -> dict:
    return {
        "channels": [
            channel("oai", upstream, ["gpt-leak"], api_key_env="LEAK_OPENAI_KEY"),
            channel("oai-resp", upstream, ["gpt-resp"], api_key_env="LEAK_OPENAI_KEY", responses_api=True),
            anthropic_channel(anthropic_upstream, api_key_env="LEAK_ANTHROPIC_KEY", models=["claude-leak"], aliases={}),
        ],
        # Every error reaches the upstream: no breaker opens, a 429 without Retry-After cools for 0 s.
        "routing": {"cooldown_seconds": 0, "sync_seconds": 0.05, "breaker": {"min_failures": 100_000}},
        "durable_writes": True,
    }


@pytest.fixture
def leaky(start_gateway, upstream, anthropic_upstream, monkeypatch) -> RunningGateway:
    monkeypatch.setenv("LEAK_OPENAI_KEY", OPENAI_KEY)
    monkeypatch.setenv("LEAK_ANTHROPIC_KEY", ANTHROPIC_KEY)
    return start_gateway(_config(upstream, anthropic_upstream))


def _call(gw: RunningGateway, pair: str, stream: bool) -> bytes:
    path, model = PAIRS[pair]
    headers = {"authorization": f"Bearer {gw.key}"}
    response = raw_request("POST", gw.base_url + path, _body(path, model, stream), headers)
    assert response.status != 500 or b"internal_error" not in response.body, response.body
    return response.body + orjson.dumps(response.headers)


def _leaked(text: bytes) -> list[str]:
    return [secret for secret in SECRETS if secret.encode() in text]


def _database_text(gw: RunningGateway) -> bytes:
    """Every value of every row of every table, as bytes."""
    engine = gw.gateway.engine
    out = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                out.append(repr(tuple(row)))
    return "\n".join(out).encode()


def _files_text(data_dir: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def _settle(gw: RunningGateway, request_ids: int) -> None:
    """Wait until the writer has stored every request's row (and the channel snapshot is fresh)."""
    engine = gw.gateway.engine
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(sa.text("SELECT count(*) FROM request_logs")).scalar_one() >= request_ids:
                break
        time.sleep(0.05)
    time.sleep(0.2)  # one more snapshot of the channels' state


@pytest.mark.parametrize("pair", list(PAIRS))
def test_upstream_errors_echoing_the_channel_key_leak_it_nowhere(
    leaky, upstream, anthropic_upstream, pair, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    answers: list[bytes] = []
    sent = 0
    for status in STATUSES:
        for html in (False, True):
            for stream in (False, True):
                upstream.echo_next(status, html=html)
                anthropic_upstream.echo_next(status, html=html)
                answers.append(_call(leaky, pair, stream))
                sent += 1
                upstream.reset(), anthropic_upstream.reset()
    for after in (0, 2):  # an error event as the first event (fails over) and after the first byte
        upstream.echo_stream_error_after = anthropic_upstream.echo_stream_error_after = after
        answers.append(_call(leaky, pair, True))
        sent += 1
    upstream.reset(), anthropic_upstream.reset()

    for answer in answers:
        assert not _leaked(answer), answer
    _settle(leaky, sent)
    out, err = capfd.readouterr()
    for kept in (_database_text(leaky), _files_text(leaky.data_dir), (out + err + caplog.text).encode()):
        assert not _leaked(kept)
        assert PROMPT.encode() not in kept


def test_an_upstream_that_echoes_the_key_is_shown_redacted_and_marked_as_the_upstreams(leaky, upstream):
    upstream.echo_next(400)
    response = raw_request(
        "POST", leaky.base_url + "/chat/completions", _body("/chat/completions", "gpt-leak", False),
        {"authorization": f"Bearer {leaky.key}"},
    )  # fmt: skip
    assert response.status == 400
    message = response.json()["error"]["message"]
    assert message.startswith("Upstream channel 'oai' answered 400: Invalid request.")
    assert "[redacted]" in message and OPENAI_KEY not in message and OPENAI_KEY[-8:] not in message
    assert PROMPT not in message and "You sent: [request text]" in message  # what it quoted of the request
    assert len(message) < 700  # capped


def test_breaker_state_and_channels_cli_keep_no_upstream_key(start_gateway, upstream, anthropic_upstream, monkeypatch):
    """An opened breaker logs and saves the last error; `channels list` and `channels test` print it."""
    monkeypatch.setenv("LEAK_OPENAI_KEY", OPENAI_KEY)
    monkeypatch.setenv("LEAK_ANTHROPIC_KEY", ANTHROPIC_KEY)
    config = _config(upstream, anthropic_upstream)
    config["routing"]["breaker"] = {"min_failures": 1, "failure_ratio": 0.1}
    gw = start_gateway(config)
    upstream.echo_next(500, times=2)
    _call(gw, "chat-passthrough", False)
    assert gw.gateway.channels.state("oai", time.time()) == "open"
    _settle(gw, 1)
    state = (gw.data_dir / "channels" / "state.json").read_bytes()
    assert b"Invalid request" in state and not _leaked(state)  # the upstream's words, without the key

    cli = [sys.executable, "-m", "onegate", "channels"]
    where = ["--data-dir", str(gw.data_dir), "--config", str(gw.config_path)]
    listed = subprocess.run([*cli, "list", *where], capture_output=True, text=True, timeout=60)
    assert "oai" in listed.stdout and not _leaked((listed.stdout + listed.stderr).encode())
    upstream.echo_next(500)
    tested = subprocess.run([*cli, "test", "oai", *where], capture_output=True, text=True, timeout=60)
    assert tested.returncode == 1 and "Invalid request" in tested.stdout, tested.stdout + tested.stderr
    assert not _leaked((tested.stdout + tested.stderr).encode())


def test_operator_can_hide_upstream_text_from_every_5xx_answer(
    start_gateway, upstream, anthropic_upstream, monkeypatch
):
    monkeypatch.setenv("LEAK_OPENAI_KEY", OPENAI_KEY)
    monkeypatch.setenv("LEAK_ANTHROPIC_KEY", ANTHROPIC_KEY)
    config = {**_config(upstream, anthropic_upstream), "server": {"hide_upstream_5xx_text": True}}
    gw = start_gateway(config)
    headers = {"authorization": f"Bearer {gw.key}"}
    url, body = gw.base_url + "/chat/completions", _body("/chat/completions", "gpt-leak", False)
    for status in (500, 502, 401):  # a refused channel credential is a 502 for the caller
        upstream.echo_next(status)
        response = raw_request("POST", url, body, headers)
        assert response.status in (status, 502)
        message = response.json()["error"]["message"]
        assert message.startswith("Upstream channel 'oai'") and "Invalid request" not in message, message
        row = gw.log(response.headers["x-request-id"])
        assert "Invalid request" in row["attempts"] and not _leaked(row["attempts"].encode())  # kept for the operator
    upstream.echo_stream_error_after = 2
    streamed = raw_request("POST", url, {**body, "stream": True}, headers)
    assert b"failed after the stream started" in streamed.body and b"Invalid request" not in streamed.body
    upstream.reset()
    upstream.echo_next(400)  # the caller's own 4xx still says why
    assert "Invalid request" in raw_request("POST", url, body, headers).json()["error"]["message"]
