"""Which file under `static/` a console path names, its content type and how long a browser may keep it.

Pure lookups, no I/O beyond reading the file: the handlers in `console/endpoints.py` send what this returns.
Only files that exist inside `static/` are served, so `..`, encoded dots, absolute paths and symlinks
pointing out of the directory all come back as None (a 404).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/console/static/"
MAX_PATH = 200  # characters after the prefix; no asset is named longer

CONTENT_TYPES: dict[str, bytes] = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".html": b"text/html; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".png": b"image/png",
    ".ico": b"image/x-icon",
    ".woff2": b"font/woff2",
    ".txt": b"text/plain; charset=utf-8",
}
# vendor/<package>-<version>/…: the version is in the path, so the bytes behind a URL never change
_VERSIONED = re.compile(r"^vendor/[a-z0-9.@_-]+-\d+\.\d+\.\d+[^/]*/")
_SAFE = re.compile(r"^[A-Za-z0-9._/-]+$")
# text compresses to a fifth or less (ECharts: 1.1 MB -> ~370 kB); images and fonts are compressed already
COMPRESSIBLE = frozenset({".js", ".css", ".html", ".svg", ".json", ".txt"})
MAX_ACCEPT_ENCODING = 512  # characters looked at; browsers send about 30
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # our own files: cached, but checked on every load (they change with onegate)

# The console loads only its own files: no inline script or style, no other origin, no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class Asset:
    path: Path
    content_type: bytes
    cache_control: str
    etag: str  # from size and mtime: a revalidation (`no-cache`) of an unchanged file is a 304


def etag_of(path: Path) -> str:
    stat = path.stat()
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def find_asset(request_path: str, static: Path = STATIC) -> Asset | None:
    """The asset a `/console/static/…` path names, or None: not found, not a served type, or outside `static/`."""
    name = unquote(request_path.partition("?")[0].removeprefix(PREFIX))
    if not name or len(name) > MAX_PATH or not _SAFE.match(name) or ".." in name.split("/"):
        return None
    content_type = CONTENT_TYPES.get(Path(name).suffix)
    if content_type is None:
        return None
    path = (static / name).resolve()
    if not path.is_relative_to(static.resolve()) or not path.is_file():
        return None
    return Asset(path, content_type, IMMUTABLE if _VERSIONED.match(name) else REVALIDATE, etag_of(path))


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an `Accept-Encoding` header allows gzip: named (or `*`) without `q=0` (RFC 9110 12.5.3)."""
    qualities: dict[str, float] = {}
    for part in accept_encoding[:MAX_ACCEPT_ENCODING].lower().split(","):
        coding, _, params = part.partition(";")
        q = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
        qualities[coding.strip()] = q
    return qualities.get("gzip", qualities.get("x-gzip", qualities.get("*", 0.0))) > 0


def compressible(path: Path) -> bool:
    return path.suffix in COMPRESSIBLE


def gzip_etag(etag: str) -> str:
    """The gzip representation's own ETag: a cache must never answer one encoding's 304 for the other."""
    return etag[:-1] + '-gz"'


@lru_cache(maxsize=128)  # the static set is fixed (about 40 files); a changed file has a new etag
def gzipped(path: Path, etag: str) -> bytes:
    """The file compressed once per version (`etag` is part of the cache key). Blocking: call off the loop."""
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


def shell_path(static: Path = STATIC) -> Path:
    return static / "index.html"
