"""The pages' one inline stylesheet and the Content-Security-Policy that allows it (by its hash) and nothing else.

Apart from the guides (setup.render) so the app can name the pages' CSP header at start without importing
the pages and the guide builders, which load on the first page request.
"""

from __future__ import annotations

import base64
import hashlib

STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "code,pre{font:13px ui-monospace,monospace;background:#f4f4f4}pre{padding:.6rem;overflow-x:auto}"
    "td{padding:.2rem .8rem .2rem 0;vertical-align:top}nav a{margin-right:.6rem}"
)


def style_hash() -> str:
    """The CSP source (`sha256-…`) that allows the pages' one inline stylesheet and nothing else."""
    return "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()


# The pages are self-contained: one inline stylesheet (allowed by its hash), no scripts, no other sources.
PAGE_CSP = (
    f"default-src 'none'; style-src '{style_hash()}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
).encode()
