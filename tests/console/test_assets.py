"""The console's files over HTTP: the shell on /console and every deep link, the app's files with their
content type and caching, a strict CSP, and nothing outside `static/` whatever the path tries."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from onegate.console.assets import IMMUTABLE, REVALIDATE, STATIC, find_asset
from onegate.store.logs import get_log
from tests.admin.conftest import Console, console  # noqa: F401
from tests.conftest import RunningGateway


def _get(gw: RunningGateway, path: str) -> requests.Response:
    return requests.get(gw.root + path, timeout=10, allow_redirects=False)


def _raw_get(gw: RunningGateway, path: str) -> tuple[int, bytes]:
    """A GET with the path sent exactly as written (requests and browsers would normalise `..` away)."""
    host, port = gw.root.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize("path", ["/console", "/console/", "/console/keys", "/console/logs?model=x", "/console/a/b/c"])
def test_the_shell_answers_the_console_and_every_deep_link(console: Console, path: str) -> None:  # noqa: F811
    response = _get(console.gw, path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/console/static/app.js">' in response.text
    assert "<script>" not in response.text  # no inline script: the CSP forbids it
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == REVALIDATE
    assert "access-control-allow-origin" not in response.headers  # not for other sites' scripts
    assert response.headers["x-frame-options"] == "DENY"


def test_the_console_is_not_a_request_log_row(console: Console) -> None:  # noqa: F811
    response = _get(console.gw, "/console/keys")
    assert get_log(console.gw.gateway.engine, response.headers["x-request-id"]) is None


@pytest.mark.parametrize(
    ("path", "content_type", "cache"),
    [
        ("/console/static/app.js", "text/javascript; charset=utf-8", REVALIDATE),
        ("/console/static/style.css", "text/css; charset=utf-8", REVALIDATE),
        ("/console/static/pages/signin.js", "text/javascript; charset=utf-8", REVALIDATE),
        ("/console/static/vendor/htm-3.1.1/standalone.module.js", "text/javascript; charset=utf-8", IMMUTABLE),
        ("/console/static/vendor/echarts-6.1.0/echarts.esm.min.js", "text/javascript; charset=utf-8", IMMUTABLE),
    ],
)
def test_files_have_their_type_and_caching(console: Console, path: str, content_type: str, cache: str) -> None:  # noqa: F811
    response = _get(console.gw, path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == cache
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == (STATIC / path.removeprefix("/console/static/")).read_bytes()


@pytest.mark.parametrize("path", ["/console/keys", "/console/static/app.js"])
def test_an_unchanged_file_revalidates_with_a_304(console: Console, path: str) -> None:  # noqa: F811
    first = _get(console.gw, path)
    etag = first.headers["etag"]
    again = requests.get(console.gw.root + path, headers={"if-none-match": etag}, timeout=10)
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    stale = requests.get(console.gw.root + path, headers={"if-none-match": '"0-0"'}, timeout=10)
    assert stale.status_code == 200 and stale.content == first.content


@pytest.mark.parametrize(
    "path",
    [
        "/console/static/nope.js",
        "/console/static/vendor/VERSIONS",  # not a served type
        "/console/static/",
        "/console/static/pages",
        "/console/static/../assets.py",
        "/console/static/..%2fassets.py",
        "/console/static/%2e%2e/assets.py",
        "/console/static/%2e%2e%2f%2e%2e%2fsettings.py",
        "/console/static/pages/../../endpoints.py",
        "/console/static/..\\endpoints.py",
        "/console/static//etc/passwd",
        "/console/static/%2fetc%2fpasswd",
        "/console/static/app.js%00.css",
        "/console/static/" + "a/" * 150 + "x.js",
    ],
)
def test_nothing_outside_static_is_served(console: Console, path: str) -> None:  # noqa: F811
    status, body = _raw_get(console.gw, path)
    assert status == 404, (path, status)
    assert b"import" not in body and b"root:" not in body


def test_find_asset_refuses_a_symlink_out_of_static(tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (tmp_path / "secret.js").write_text("secret")
    (static / "link.js").symlink_to(tmp_path / "secret.js")
    (static / "ok.js").write_text("ok")
    assert find_asset("/console/static/link.js", static) is None
    found = find_asset("/console/static/ok.js", static)
    assert found is not None and found.path.read_text() == "ok"


def test_the_vendored_files_match_their_recorded_hashes() -> None:
    import hashlib

    lines = (STATIC / "vendor" / "VERSIONS").read_text().splitlines()
    rows = [line.split() for line in lines if line.strip() and not line.startswith("#")]
    assert {row[0] for row in rows} >= {"htm", "echarts"}
    for package, version, member, digest in rows:
        path = STATIC / "vendor" / f"{package}-{version}" / member.rsplit("/", 1)[-1]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path


def _get_encoded(gw: RunningGateway, path: str, accept: str, etag: str | None = None) -> requests.Response:
    """A GET whose body is left as sent (requests would otherwise unzip it)."""
    headers = {"accept-encoding": accept, **({"if-none-match": etag} if etag else {})}
    return requests.get(gw.root + path, headers=headers, timeout=10, stream=True)


@pytest.mark.parametrize(
    "path",
    [
        "/console/keys",
        "/console/static/app.js",
        "/console/static/style.css",
        "/console/static/favicon.svg",
        "/console/static/vendor/echarts-6.1.0/echarts.esm.min.js",
    ],
)
def test_text_is_sent_gzipped_to_a_browser_that_accepts_it(console: Console, path: str) -> None:  # noqa: F811
    import gzip

    name = "index.html" if not path.startswith("/console/static/") else path.removeprefix("/console/static/")
    original = (STATIC / name).read_bytes()
    zipped = _get_encoded(console.gw, path, "gzip, deflate, br, zstd")
    body = zipped.raw.read()
    assert zipped.status_code == 200 and zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "accept-encoding"
    assert gzip.decompress(body) == original and len(body) < len(original)
    plain = _get_encoded(console.gw, path, "identity")
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "accept-encoding"  # a shared cache must key on the header either way
    assert plain.raw.read() == original
    # each encoding has its own ETag: a 304 only for the copy the browser really has
    assert zipped.headers["etag"] != plain.headers["etag"]
    again = _get_encoded(console.gw, path, "gzip", zipped.headers["etag"])
    assert again.status_code == 304 and again.headers["content-encoding"] == "gzip"
    other = _get_encoded(console.gw, path, "gzip", plain.headers["etag"])
    assert other.status_code == 200 and gzip.decompress(other.raw.read()) == original


@pytest.mark.parametrize("accept", ["", "identity", "gzip;q=0", "br, gzip; q=0", "*;q=0", "deflate"])
def test_no_gzip_unless_the_client_accepts_it(console: Console, accept: str) -> None:  # noqa: F811
    response = _get_encoded(console.gw, "/console/static/app.js", accept)
    assert response.status_code == 200 and "content-encoding" not in response.headers
    assert response.raw.read() == (STATIC / "app.js").read_bytes()


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("deflate, gzip;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("*, gzip;q=0", False),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("gzip;q=nonsense", False),
        ("br", False),
        ("", False),
        ("br, " * 1000 + "gzip", False),  # only the first 512 characters are read
    ],
)
def test_accepts_gzip_reads_the_header(header: str, accepted: bool) -> None:
    from onegate.console.assets import accepts_gzip

    assert accepts_gzip(header) is accepted


def test_images_and_fonts_are_not_compressed_again(tmp_path: Path) -> None:
    from onegate.console.assets import compressible

    assert not any(compressible(tmp_path / f"x{suffix}") for suffix in (".png", ".ico", ".woff2"))
    assert all(compressible(tmp_path / f"x{suffix}") for suffix in (".js", ".css", ".html", ".svg"))
