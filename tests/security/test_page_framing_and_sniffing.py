"""Browser pages (`/`, `/setup/CLIENT`) cannot be framed, sniffed into another type, or run injected
script: no-sniff, a CSP that allows only their own inline stylesheet, frame denial, no referrer, no CORS."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from tests.conftest import raw_request
from tests.security.served import OnegateProcess


def test_pages_send_restrictive_security_headers(tmp_path: Path) -> None:
    with OnegateProcess(tmp_path) as server:
        pages = {p: raw_request("GET", server.root + p, None, {"accept": "text/html"}) for p in PATHS}
    for path, page in pages.items():
        assert page.status == 200 and page.headers["content-type"].startswith("text/html"), path
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "access-control-allow-origin" not in page.headers
        csp = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
        assert csp["default-src"] == "'none'"
        assert csp["frame-ancestors"] == "'none'"
        assert "script-src" not in csp and b"<script" not in page.body
        # only the page's own stylesheet, by hash (no 'unsafe-inline'); a stale hash would unstyle the page
        style = re.search(rb"<style>(.*?)</style>", page.body, re.S)
        assert style is not None
        digest = base64.b64encode(hashlib.sha256(style.group(1)).digest()).decode()
        assert csp["style-src"] == f"'sha256-{digest}'"


PATHS = ("/", "/setup/curl?lang=en", "/setup/cursor?lang=zh")
