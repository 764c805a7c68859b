"""The `x-onegate-hint` header: the diagnosis code, then the fix in plain ASCII words.

`path.missing_api_v1; Set your client's base URL ... to http://HOST/api/v1`: whoever sees only the
header (curl -i, a proxy's log, a screenshot) can act on it; the request log keeps the code alone.
"""

from __future__ import annotations

import re
import unicodedata

_PLAIN = str.maketrans({"…": "...", "→": "->", "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]+")
MAX_FIX = 400  # header lines stay short; the fix sentences are well under this


def hint_header(code: str, fix: str | None) -> bytes:
    """`code; fix` as a header value: ASCII only (what HTTP headers carry safely), one line, capped."""
    if not fix:
        return code.encode()
    plain = unicodedata.normalize("NFKD", fix.translate(_PLAIN))
    plain = _NOT_PRINTABLE_ASCII.sub("", plain).strip().rstrip(".")[:MAX_FIX]
    return f"{code}; {plain}".encode() if plain else code.encode()
