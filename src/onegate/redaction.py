"""Redaction: take secrets and key-shaped tokens out of text before it leaves the process or lands on disk.

Pure functions, no I/O. Two uses:
- text that came from an upstream (error bodies, stream error events, headers): `redact_upstream_text`,
  which also knows the channel's own key values;
- text a caller sent that we store (path, user agent, model, query): `mask_key_shaped`, which masks any
  key-shaped run (an onegate key pasted into a path must not land in a log row).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
# A known secret is also matched by its tail: an upstream may echo only the end ("...abcd1234").
MIN_SECRET_TAIL = 8

# Token shapes vendors issue. Ordered so the longest prefix wins (sk-ant- before sk-).
_TOKEN_SHAPES = re.compile(
    r"(?:sk-ant-[A-Za-z0-9_\-]{8,}"
    r"|sk-og-[A-Za-z0-9_\-]{8,}"
    r"|sk-[A-Za-z0-9_\-]{12,}"
    r"|AIza[0-9A-Za-z_\-]{20,}"
    r"|(?:ghp|gho|ghu|ghs|xox[abposr])[_-][A-Za-z0-9_\-]{10,})"
)
# Credentials introduced by a scheme or a header name: `Bearer xyz`, `x-api-key: xyz`, `"api-key": "xyz"`.
_LABEL = r"\b(?:x-api-key|api[-_]key|x-goog-api-key|authorization)[\"']?\s*[:=]\s*[\"']?"
_SCHEME = r"\b(?:bearer|basic)\s+"
_LABELLED = re.compile(rf"(?i)((?:{_LABEL})(?:{_SCHEME})?|{_SCHEME})([^\s\"',;<>&]{{4,}})")


def _known_patterns(secrets: Iterable[str]) -> list[str]:
    out: list[str] = []
    for secret in secrets:
        secret = secret.strip()
        if len(secret) < MIN_SECRET_TAIL:
            continue
        out.append(secret)
        out.append(secret[-MIN_SECRET_TAIL:])
    # Longest first so the whole key is replaced before its tail is looked for.
    return sorted(set(out), key=len, reverse=True)


def redact_secrets(text: str, known: Iterable[str] = ()) -> str:
    """Replace known secret values (whole, or their last 8+ characters) and every credential-shaped run."""
    for pattern in _known_patterns(known):
        if pattern in text:
            text = text.replace(pattern, REDACTED)
    text = _LABELLED.sub(lambda m: m.group(1) + REDACTED, text)
    return _TOKEN_SHAPES.sub(REDACTED, text)


def mask_key_shaped(text: str) -> str:
    """Mask key-shaped runs in caller-supplied text (`sk-og-…abcd` keeps the last 4 for support)."""
    return _TOKEN_SHAPES.sub(lambda m: m.group(0)[:3] + "…" + m.group(0)[-4:], text)


STORED_TEXT_LIMIT = 512  # characters of one caller-supplied string a log row keeps


def stored_text(text: str | None, limit: int = STORED_TEXT_LIMIT) -> str | None:
    """Caller-supplied text fit for a log row (path, user agent, model, client version): key-shaped runs
    masked, at most `limit` characters. Cut before masking so a megabyte costs no more than `limit` does."""
    if not text:
        return text
    return cap(mask_key_shaped(text[: 2 * limit]), limit)


def cap(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def redact_upstream_text(text: str, known: Iterable[str] = (), limit: int = 1024) -> str:
    """Upstream text fit for a client or a log row: secrets redacted, control characters gone, capped."""
    text = redact_secrets(text, known)
    text = "".join(ch if ch.isprintable() or ch == " " else " " for ch in text)
    return cap(text, limit)
