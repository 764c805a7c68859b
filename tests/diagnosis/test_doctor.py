"""`onegate doctor` against a running onegate (good and each kind of bad setup), a fake vendor that buffers its
stream, a website that answers everything with HTML, and nothing at all; and `onegate evidence`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from onegate.cli.main import app
from tests.conftest import UPSTREAM_SECRET, channel_config, free_port, raw_request
from tests.diagnosis.clients import headers

runner = CliRunner()


def doctor(*args: str) -> tuple[int, dict, str]:
    """Run the doctor with --json: (exit code, evidence, the step lines it printed)."""
    result = runner.invoke(app, ["doctor", "--json", "--timeout", "20", *args])
    evidence = json.loads(result.stdout)
    return result.exit_code, evidence, result.stderr


def steps(evidence: dict) -> dict[str, dict]:
    return {s["name"]: s for s in evidence["steps"]}


def test_a_good_setup_passes_every_step_and_exits_zero(start_gateway):
    gw = start_gateway()
    code, evidence, lines = doctor("--base-url", gw.base_url, "--key", gw.key, "--model", "onegate-selftest")
    assert code == 0, lines
    assert [s["status"] for s in evidence["steps"]] == ["pass"] * 5
    assert [line.split()[0] for line in lines.splitlines() if line.strip()[:4] in ("PASS", "FAIL")] == ["PASS"] * 5
    assert evidence["facts"]["key"] == "…" + gw.key[-4:]
    assert gw.key not in json.dumps(evidence) and gw.key[6:-4] not in lines
    assert evidence["facts"]["requests_to"] == gw.base_url
    assert all(s["request_id"].startswith("req_") for s in evidence["steps"][1:])


def test_the_markdown_evidence_is_ready_to_paste(start_gateway):
    gw = start_gateway()
    result = runner.invoke(app, ["doctor", "--base-url", gw.base_url, "--key", gw.key, "--model", "onegate-selftest"])
    assert result.exit_code == 0
    assert "### onegate evidence (onegate doctor): PASS" in result.stdout
    assert f"| base_url | {gw.base_url} |" in result.stdout and gw.key not in result.stdout


def test_the_endpoint_pasted_into_the_base_url_fails_the_url_step_with_the_fix(start_gateway):
    gw = start_gateway()
    code, evidence, _ = doctor(
        "--base-url", gw.base_url + "/chat/completions", "--key", gw.key, "--model", "onegate-selftest"
    )
    url = steps(evidence)["url"]
    assert code == 1 and url["status"] == "fail" and url["fix"] == f"Use {gw.base_url}"


def test_the_website_root_on_a_lenient_onegate_works_but_is_flagged(start_gateway):
    gw = start_gateway()
    code, evidence, _ = doctor(
        "--base-url", gw.root, "--key", gw.key, "--model", "onegate-selftest", "--client", "openai-python"
    )
    found = steps(evidence)
    assert code == 0  # it works: warnings, not failures
    assert found["url"]["status"] == "warn" and "no version segment" in found["url"]["summary"]
    assert found["models"]["status"] == "warn" and "path.missing_api_v1" in found["models"]["summary"]


def test_the_website_root_on_a_strict_onegate_fails_with_the_servers_own_diagnosis(start_gateway):
    gw = start_gateway({"path_policy": "strict"})
    code, evidence, _ = doctor("--base-url", gw.root, "--key", gw.key, "--model", "onegate-selftest")
    models = steps(evidence)["models"]
    assert code == 1 and models["http_status"] == 404
    assert f"to {gw.root}/api/v1" in models["error_text"]  # onegate's 404 names the base URL to set


def test_claude_code_with_the_openai_base_is_told_to_drop_v1(start_gateway):
    gw = start_gateway()
    code, evidence, _ = doctor(
        "--base-url", gw.base_url, "--key", gw.key, "--model", "onegate-selftest", "--client", "claude-code"
    )
    assert code == 1 and steps(evidence)["url"]["fix"] == f"Use {gw.root}/api"
    code, evidence, _ = doctor(
        "--base-url", gw.root + "/api", "--key", gw.key, "--model", "onegate-selftest", "--client", "claude-code"
    )
    assert code == 0 and evidence["facts"]["requests_to"] == gw.base_url


def test_a_vendor_key_fails_at_models_with_the_servers_words(start_gateway):
    gw = start_gateway()
    vendor_key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFGH"
    code, evidence, _ = doctor("--base-url", gw.base_url, "--key", vendor_key, "--model", "onegate-selftest")
    found = steps(evidence)
    assert code == 1 and found["models"]["status"] == "fail" and found["models"]["http_status"] == 401
    assert "This is an API key from OpenAI (sk-proj-…EFGH)" in found["models"]["error_text"]
    assert vendor_key not in json.dumps(evidence)


def test_a_marketing_model_name_fails_with_the_real_names(start_gateway, upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    gw = start_gateway(channel_config(upstream))
    code, evidence, _ = doctor("--base-url", gw.base_url, "--key", gw.key, "--model", "GPT-4.1 Mini")
    found = steps(evidence)
    assert code == 1
    assert found["models"]["fix"].startswith("Use one of: gpt-4.1-mini")
    assert found["chat"]["status"] == "fail" and "product name" in found["chat"]["error_text"]
    assert found["stream"]["status"] == "skip" and found["long"]["status"] == "skip"


def test_nothing_listening_fails_once_and_skips_the_rest():
    base = f"http://127.0.0.1:{free_port()}/api/v1"
    code, evidence, _ = doctor("--base-url", base, "--key", "sk-og-whatever", "--model", "m")
    found = steps(evidence)
    assert code == 1 and "connection refused" in found["models"]["summary"]
    assert [found[n]["status"] for n in ("chat", "stream", "long")] == ["skip"] * 3


def test_cursor_with_a_local_address_fails_the_url_step():
    code, evidence, _ = doctor(
        "--base-url", "http://localhost:1/api/v1", "--key", "k", "--model", "m", "--client", "cursor"
    )
    assert code == 1 and "Cursor calls from its own servers" in steps(evidence)["url"]["summary"]


@pytest.fixture
def proxied_slow(start_gateway, upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    upstream.chunk_delay = 0.1
    upstream.stream_chunks = 6
    return start_gateway(channel_config(upstream))


def test_a_real_stream_arrives_spread_out(proxied_slow):
    code, evidence, _ = doctor(
        "--base-url", proxied_slow.base_url, "--key", proxied_slow.key, "--model", "gpt-4.1-mini"
    )
    stream = steps(evidence)["stream"]
    assert code == 0 and stream["status"] == "pass" and "spread over" in stream["summary"]


@pytest.mark.parametrize(("client", "base"), [("openai-python", "/api/v1"), ("claude-code", "/api")])
def test_a_buffered_stream_is_caught(proxied_slow, upstream, client, base):
    upstream.buffer_stream = True
    code, evidence, _ = doctor(
        "--base-url", proxied_slow.root + base, "--key", proxied_slow.key, "--model", "gpt-4.1-mini", "--client", client
    )
    stream = steps(evidence)["stream"]
    assert code == 1 and stream["status"] == "fail"
    assert "arrived at once" in stream["summary"] and "proxy_buffering off" in stream["fix"]


def test_a_stream_cut_midway_fails_with_the_error_the_client_would_see(proxied_slow, upstream):
    upstream.cut_stream_after = 3
    code, evidence, _ = doctor(
        "--base-url", proxied_slow.base_url, "--key", proxied_slow.key, "--model", "gpt-4.1-mini"
    )
    found = steps(evidence)
    assert code == 1 and found["stream"]["status"] == "fail" and found["long"]["status"] == "fail"
    assert "failed after the stream started" in found["stream"]["error_text"]


def test_works_against_another_openai_compatible_server(upstream):
    """The fake vendor stands in for any OpenAI-compatible gateway that is not onegate."""
    code, evidence, lines = doctor("--base-url", upstream.base_url, "--key", "sk-anything", "--model", "gpt-4o-mini")
    assert code == 0, lines
    assert [s["status"] for s in evidence["steps"]] == ["pass"] * 5


class _SpaHandler(BaseHTTPRequestHandler):
    """A gateway's web console that answers every path with its HTML page and 200 (new-api, one-api)."""

    def _page(self) -> None:
        body = b"<!doctype html><html><body><div id=root></div></body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _page

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def spa_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SpaHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_website_that_answers_html_is_named_as_such(spa_site):
    code, evidence, _ = doctor("--base-url", spa_site, "--key", "sk-anything", "--model", "m")
    models = steps(evidence)["models"]
    assert code == 1 and "a web page instead of JSON" in models["summary"] and "/v1" in models["fix"]


def test_doctor_speaks_chinese(start_gateway):
    gw = start_gateway()
    result = runner.invoke(app, ["doctor", "--base-url", gw.base_url, "--key", gw.key, "--model", "x", "--lang", "zh"])
    assert result.exit_code == 1
    assert "密钥有效" in result.stdout and "原始错误信息" in result.stdout


def test_unknown_client_name_is_refused():
    result = runner.invoke(
        app, ["doctor", "--base-url", "http://h/v1", "--key", "k", "--model", "m", "--client", "vim"]
    )
    assert result.exit_code == 2 and "claude-code" in result.output


# ---- onegate evidence REQUEST_ID -------------------------------------------------------------------------


def test_evidence_prints_the_record_of_a_logged_request(start_gateway):
    gw = start_gateway({"path_policy": "strict"})
    response = raw_request("POST", gw.root + "/api/v1/v1/messages?beta=true", {}, headers("claude-code", gw.key))
    request_id = response.headers["x-request-id"]
    gw.log(request_id)
    result = runner.invoke(app, ["evidence", request_id, "--data-dir", str(gw.data_dir)])
    assert result.exit_code == 0
    assert "| config_hint | path.anthropic_base_has_v1 |" in result.stdout
    assert f"Set ANTHROPIC_BASE_URL={gw.root}/api." in result.stdout
    assert "| client | claude-code 2.1.197 |" in result.stdout and gw.key not in result.stdout
    as_json = json.loads(runner.invoke(app, ["evidence", request_id, "--json", "--data-dir", str(gw.data_dir)]).stdout)
    assert as_json["facts"]["status"] == 404 and as_json["result"] == "fail"


def test_evidence_of_a_served_request_shows_the_fix_from_the_notes(start_gateway):
    gw = start_gateway()
    body = {"model": "onegate-selftest", "messages": [{"role": "user", "content": "hi"}]}
    response = raw_request("POST", gw.root + "/chat/completions", body, headers("openai-python", gw.key))
    gw.log(response.headers["x-request-id"])
    data = json.loads(
        runner.invoke(
            app, ["evidence", response.headers["x-request-id"], "--json", "--data-dir", str(gw.data_dir)]
        ).stdout
    )
    assert data["result"] == "pass" and data["facts"]["config_hint"] == "path.missing_api_v1"
    assert data["facts"]["timings"].startswith("auth ") and ", total " in data["facts"]["timings"]
    assert f"to {gw.root}/api/v1" in data["facts"]["notes"]


def test_evidence_for_an_unknown_request_id_fails(tmp_path):
    result = runner.invoke(app, ["evidence", "req_nope", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "no request with id req_nope" in result.output


def test_a_key_in_the_query_string_never_reaches_the_log(start_gateway):
    gw = start_gateway()
    secret = "AIzaSyD-not-a-real-key-0000wxyz"
    response = raw_request("GET", f"{gw.base_url}/models?key={secret}", None, {})
    row = gw.log(response.headers["x-request-id"])
    assert secret not in json.dumps(row) and row["path"] == "/api/v1/models?key=…wxyz"
    assert row["config_hint"] == "key.in_query"


def test_claude_code_is_checked_on_the_messages_surface_it_uses(start_gateway):
    gw = start_gateway()
    code, evidence, lines = doctor(
        "--base-url", gw.root + "/api", "--key", gw.key, "--model", "onegate-selftest", "--client", "claude-code"
    )
    assert code == 0, lines
    assert [s["status"] for s in evidence["steps"]] == ["pass"] * 5
    rows = [gw.log(s["request_id"]) for s in evidence["steps"][1:]]
    assert [(r["method"], r["path"].split("?")[0]) for r in rows] == [("GET", "/api/v1/models")] + [
        ("POST", "/api/v1/messages")
    ] * 3
    assert all(r["dialect"].startswith("anthropic") for r in rows)


def test_doctor_shows_the_fix_the_server_sent_with_its_flag(start_gateway):
    gw = start_gateway()
    code, evidence, _ = doctor(
        "--base-url", gw.root, "--key", gw.key, "--model", "onegate-selftest", "--client", "openai-python"
    )
    models = steps(evidence)["models"]
    assert code == 0 and models["status"] == "warn"
    assert models["fix"].endswith(f"to {gw.root}/api/v1")  # the server's own fix, not a generic line
