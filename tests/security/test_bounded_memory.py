"""Attacks: one request costs the gateway memory or disk out of proportion, or leaves a key in the log.

- A model name of megabytes was looked up, fuzzy-matched, cached and logged whole (200 of them: +252 MB
  of RSS kept, +218 MB on disk). Now it is a 400 before any of that.
- Every caller-supplied string a log row keeps (path, query, user agent, model, client version) is cut to
  512 characters with key-shaped runs masked: a key pasted into the base URL (`/api/v1/sk-og-…/chat/…`,
  served in lenient mode) is not stored whole.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from onegate.diagnosis import models as model_diagnosis
from onegate.dialects.schema import MAX_MODEL_NAME
from onegate.redaction import STORED_TEXT_LIMIT
from tests.conftest import channel, free_port, raw_request, wait_for_log
from tests.security.harness import PASSTHROUGH_OPENAI, InProcessGateway

HUGE = 1_900_000  # characters of each model name
REQUESTS = 200


class ServedProcess:
    """`onegate serve` in its own process (its RSS is what is measured), output to a file."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.output = (data_dir.parent / "serve.log").open("w+")
        command = [sys.executable, "-m", "onegate.cli.main", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--data-dir", str(data_dir)],
            stdout=self.output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.key = self._wait_for_key()

    def _wait_for_key(self) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = re.search(r"(sk-og-[A-Za-z0-9]+)", Path(self.output.name).read_text())
            if found:
                try:
                    if raw_request("GET", self.root + "/healthz").status == 200:
                        return found.group(1)
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("onegate serve did not come up: " + Path(self.output.name).read_text())

    def rss_bytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(30)
        self.output.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedProcess]:
    if not Path("/proc/self/status").exists():
        pytest.skip("RSS is read from /proc (Linux)")
    server = ServedProcess(tmp_path / "data")
    yield server
    server.stop()


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def _logged_rows(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "onegate.db") as db:
        return int(db.execute("select count(*) from request_logs").fetchone()[0])


def _send_huge_models(server: ServedProcess, start: int, count: int) -> None:
    messages = orjson.dumps([{"role": "user", "content": "hi"}]).decode()
    headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
    for i in range(start, start + count):
        name = f"{i:06d}" + "m" * (HUGE - 6)  # a different name each time: no cache can absorb them
        body = f'{{"model":"{name}","messages":{messages}}}'.encode()
        answer = raw_request("POST", server.root + "/api/v1/chat/completions", body, headers)
        assert answer.status == 400, answer
        error = answer.json()["error"]
        assert error["param"] == "model" and str(MAX_MODEL_NAME) in error["message"]
        assert len(answer.body) < 1000  # the name is not echoed back


def _settled(server: ServedProcess, rows: int) -> None:
    deadline = time.monotonic() + 10
    while _logged_rows(server.data_dir) < rows and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _logged_rows(server.data_dir) >= rows


def test_megabyte_model_names_cost_neither_memory_nor_disk(served: ServedProcess) -> None:
    _send_huge_models(served, 0, 20)  # warm-up: the allocator's arenas reach their working size
    _settled(served, 20)
    rss, disk = served.rss_bytes(), _size(served.data_dir)

    _send_huge_models(served, 20, REQUESTS)
    _settled(served, 20 + REQUESTS)

    grown = served.rss_bytes() - rss
    assert grown < 20 * 1024 * 1024, f"RSS grew {grown / 1e6:.1f} MB over {REQUESTS} requests"
    written = _size(served.data_dir) - disk
    assert written < 1024 * 1024, f"the data dir grew {written / 1e6:.1f} MB over {REQUESTS} requests"
    assert raw_request("GET", served.root + "/healthz").status == 200


def test_a_key_pasted_into_the_path_is_masked_in_the_log(in_process: InProcessGateway, fakes: None) -> None:
    secret = in_process.key
    body = {"model": PASSTHROUGH_OPENAI, "messages": [{"role": "user", "content": "hi"}]}
    answer = in_process.post(f"/api/v1/{secret}/chat/completions?note={secret}", body)
    assert answer.status == 200, answer  # lenient: the intent is plain, so it is served (and flagged)
    row = wait_for_log(in_process.gateway, answer.headers["x-request-id"])
    assert secret not in row["path"]
    assert f"sk-…{secret[-4:]}" in row["path"]


def test_caller_strings_in_a_log_row_are_capped_and_masked(in_process: InProcessGateway, fakes: None) -> None:
    secret = in_process.key
    agent = f"curl/8.0 {secret} " + "x" * 10_000
    model = f"{secret}/{'y' * 200}"  # a key pasted as the model name (within the name limit)
    path = "/api/v1/chat/completions?" + "q=" + "z" * 10_000
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    answer = in_process.post(path, body, {"user-agent": agent})
    assert answer.status == 404, answer  # no such model
    row = wait_for_log(in_process.gateway, answer.headers["x-request-id"])
    for field in ("path", "user_agent", "model_requested"):
        assert len(row[field]) <= STORED_TEXT_LIMIT, field
        assert secret not in row[field], field
    assert f"sk-…{secret[-4:]}" in row["user_agent"] and f"sk-…{secret[-4:]}" in row["model_requested"]

    # an SDK in a browser sends no User-Agent: the client version then comes from a header
    sdk = {"x-stainless-lang": "js", "x-stainless-package-version": secret + "9" * 5000}
    answer = in_process.post("/api/v1/chat/completions", {**body, "model": PASSTHROUGH_OPENAI}, sdk)
    row = wait_for_log(in_process.gateway, answer.headers["x-request-id"])
    assert row["client_name"] == "openai-node"
    assert len(row["client_version"]) <= STORED_TEXT_LIMIT and secret not in row["client_version"]


def test_names_past_the_limit_are_not_kept_by_the_model_diagnosis_cache() -> None:
    before = model_diagnosis._diagnose.cache_info().currsize
    finding = model_diagnosis.diagnose_model("q" * (MAX_MODEL_NAME + 1), ["gpt-4.1-mini"])
    assert finding.code == "model.unknown"
    assert model_diagnosis._diagnose.cache_info().currsize == before
    assert model_diagnosis._diagnose.cache_info().maxsize == 1024


def test_body_text_quoted_in_the_notes_is_masked(in_process: InProcessGateway, fakes: None) -> None:
    """Translation notes name what it dropped, in the caller's words: a key there is masked too."""
    secret = in_process.key
    content = [{"type": "text", "text": "hi"}, {"type": secret}]
    body = {"model": PASSTHROUGH_OPENAI, "max_tokens": 16, "messages": [{"role": "user", "content": content}]}
    answer = in_process.post("/api/v1/messages", body)
    assert answer.status == 200, answer
    row = wait_for_log(in_process.gateway, answer.headers["x-request-id"])
    assert "content block was dropped" in row["notes"]
    assert secret not in row["notes"] and f"sk-…{secret[-4:]}" in row["notes"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    from tests.conftest import require_service
    from tests.services import POSTGRES_HOST, POSTGRES_PORT, postgres_schema

    require_service("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
    with postgres_schema() as url:
        yield url


def test_the_longest_caller_strings_a_row_keeps_fit_postgresqls_columns(postgres_url, start_gateway, upstream):
    """A 256-character model name (the longest accepted) and a long user agent and path must not fail the
    log batch on PostgreSQL, whose VARCHAR columns enforce their width: a failed batch spills, and its
    replay fails the same way forever (the row, and the charge with it, never lands)."""
    gateway = start_gateway({"database_url": postgres_url, "channels": [channel("oai", upstream, ["gpt-4.1-mini"])]})
    headers = {"authorization": f"Bearer {gateway.key}", "user-agent": "agent/" + "u" * 600}
    body = {"model": "m" * 256, "messages": [{"role": "user", "content": "hi"}]}
    refused = raw_request("POST", gateway.base_url + "/chat/completions?" + "q" * 600, body, headers)
    assert refused.status == 404  # no such model; its row is written all the same
    row = gateway.log(refused.headers["x-request-id"])
    assert row["model_requested"].startswith("m" * 100) and len(row["user_agent"]) <= 300
    assert len(row["path"]) <= 500


def test_nul_characters_from_the_caller_do_not_poison_the_log_on_postgresql(postgres_url, start_gateway, upstream):
    """PostgreSQL's text refuses NUL. A model name with `\\u0000` (or an upstream error quoting one) failed
    its row's whole batch (other requests' rows and charges with it) and the spilled replay forever: any key
    holder could stop every instance's request log and ledger from landing."""
    gateway = start_gateway({"database_url": postgres_url, "channels": [channel("oai", upstream, ["gpt-4.1-mini"])]})
    headers = {"authorization": f"Bearer {gateway.key}", "user-agent": "agent/1.0"}
    unknown = raw_request("GET", gateway.base_url.replace("/api/v1", "") + "/api/v1/%00nul", None, {})
    body = {"model": "gpt\u0000-x", "messages": [{"role": "user", "content": "hi"}]}
    refused = raw_request("POST", gateway.base_url + "/chat/completions", body, headers)
    served = raw_request("POST", gateway.base_url + "/chat/completions", {**body, "model": "gpt-4.1-mini"}, headers)
    assert (unknown.status, refused.status, served.status) == (404, 404, 200)
    assert gateway.log(unknown.headers["x-request-id"])["path"] == "/api/v1/%00nul"  # the path as sent
    assert gateway.log(refused.headers["x-request-id"])["model_requested"] == "gpt\ufffd-x"
    assert gateway.log(served.headers["x-request-id"])["status"] == 200
