"""No log forging: control characters that arrive in paths, model names, user agents or upstream text are
escaped in every server log line, so nothing a client or an upstream sends can start a line that looks
like onegate's own (`…%0d%0aCRITICAL: …`) or drive the operator's terminal (ANSI escapes).

Checked on the stderr and stdout of a real `onegate serve`, access log on, and on the filter itself.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest

from onegate.logsafe import EscapeControls, escape_controls
from tests.conftest import UPSTREAM_SECRET, channel_config, raw_request
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.security.served import OnegateProcess

FORGED = "CRITICAL: forged"
# a log record starts at column 0 with a level ("WARNING:  …"), the CLI says "onegate: …"; the rest is indented
RECORD = re.compile(r"^(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):  |^onegate: |^\s|^$")


def _lines(text: str) -> list[str]:
    return text.replace("\r", "\n").split("\n")


def test_crlf_in_paths_model_names_and_upstream_text_cannot_forge_a_log_line(
    tmp_path: Path, upstream: FakeOpenAIUpstream
) -> None:
    config = channel_config(upstream)
    config["server"] = {"access_log": True}
    config["routing"] = {"breaker": {"min_failures": 1, "failure_ratio": 0.01}, "max_attempts": 1}
    upstream.required_api_key = UPSTREAM_SECRET
    # the upstream's own error text carries the attack: it reaches the breaker's warning
    upstream.fail_next(500, {"error": {"message": f"overloaded\r\n{FORGED} by the upstream\x1b[2J"}})
    env = {"ONEGATE_TEST_UPSTREAM_KEY": UPSTREAM_SECRET, "ONEGATE_ADMIN_TOKEN": "x" * 32}
    with OnegateProcess(tmp_path, config, env=env) as server:
        auth = {"authorization": f"Bearer {server.key}", "content-type": "application/json"}
        chat = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}
        assert raw_request("POST", server.root + "/api/v1/chat/completions", chat, auth).status >= 500
        attacks = [
            ("GET", f"/api/v1/models%0d%0a{FORGED.replace(' ', '%20')}%20by%20a%20path", None),
            ("GET", f"/admin/api/setup/x%0d%0a{FORGED.replace(' ', '%20')}%20by%20admin", None),
            # a lenient path that is served, with a body the decoder may choke on
            (
                "POST",
                f"/x%0d%0a{FORGED.replace(' ', '%20')}%20by%20a%20served%20path/api/v1/messages",
                {"model": "onegate-selftest", "max_tokens": 5, "messages": [1]},
            ),
            (
                "POST",
                "/api/v1/chat/completions",
                {"model": f"m\r\n{FORGED} by a model name", "messages": [{"role": "user", "content": "hi"}]},
            ),
        ]
        for method, path, body in attacks:
            assert raw_request(method, server.root + path, body, auth).status in range(200, 600)
        deadline = time.monotonic() + 5
        while "overloaded" not in server.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
    output = server.stderr() + server.stdout()
    assert "overloaded" in server.stderr(), "the upstream's error never reached a log line: nothing was tested"
    assert "models%0d%0a" in server.stdout() or "models\\r\\n" in server.stdout(), "access log line missing"
    assert "\x1b" not in output
    forged = [line for line in _lines(output) if line.startswith("CRITICAL")]
    assert forged == []
    stderr_lines = [line for line in server.stderr().split("\n") if line]
    assert all(RECORD.match(line) for line in stderr_lines), [x for x in stderr_lines if not RECORD.match(x)]


@pytest.mark.parametrize(
    "message, args",
    [
        ("unhandled error in %s %s", ("POST", "/x\r\nCRITICAL: forged")),
        ("model %(model)s unknown", {"model": "gpt\nCRITICAL: forged"}),
        ("user agent\u2028CRITICAL: forged \x1b[31m", ()),
        ("a settlement did not reach Redis: %s", (ConnectionError("gone\r\nCRITICAL: forged"),)),
        ("%s", (["list\nCRITICAL: forged"],)),
    ],
)
def test_the_filter_escapes_messages_and_arguments(message: str, args: object) -> None:
    record = logging.LogRecord("onegate", logging.WARNING, __file__, 1, message, None, None)
    record.args = args or None
    EscapeControls().filter(record)
    text = logging.Formatter("%(levelname)s: %(message)s").format(record)
    assert "\n" not in text and "\r" not in text and "\x1b" not in text and "\u2028" not in text
    assert "CRITICAL: forged" in text  # still readable, on the same line


def test_a_traceback_is_indented_so_its_message_cannot_start_a_line() -> None:
    try:
        raise ValueError("bad\r\nCRITICAL: forged")
    except ValueError:
        import sys

        record = logging.LogRecord("onegate", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    EscapeControls().filter(record)
    lines = logging.Formatter("%(levelname)s: %(message)s").format(record).split("\n")
    assert lines[0] == "ERROR: failed"
    assert all(line.startswith("  ") for line in lines[1:])
    assert not any(line.startswith("CRITICAL") for line in lines)


def test_escape_controls_leaves_ordinary_text_alone() -> None:
    text = "POST /api/v1/chat/completions — 模型 gpt-4.1-mini ✓"
    assert escape_controls(text) is text
    assert escape_controls("a\tb\x00c\x7f") == "a\\tb\\x00c\\x7f"
