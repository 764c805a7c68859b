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
from dataclasses import dataclass
from typing import overload

REDACTED = "[redacted]"
# A known secret is also matched by its tail: an upstream may echo only the end ("...abcd1234").
MIN_SECRET_TAIL = 8
# How much of an upstream's own words onegate repeats to a caller or keeps in a log row.
UPSTREAM_TEXT_LIMIT = 512
# Any stored error text (log row, attempts, journal, spill, evidence) is at most this long.
STORED_ERROR_LIMIT = 1024

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
# Credentials inside a URL: `https://user:password@host/…`.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@\"'<>]+@")
# Markup of an HTML error page (a proxy's 502 page): the words are kept, the tags and scripts are not.
_MARKUP = re.compile(r"(?is)<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&#x27;": "'", "&nbsp;": " ", "&amp;": "&"}
_ENTITY = re.compile("|".join(map(re.escape, _ENTITIES)))


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
    """Replace every credential-shaped run and known secret values (whole, or their last 8+ characters).

    Shapes first: a known key's tail found inside another token must not cut that token out of its shape."""
    text = _LABELLED.sub(lambda m: m.group(1) + REDACTED, text)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    text = _TOKEN_SHAPES.sub(REDACTED, text)
    for pattern in _known_patterns(known):
        if pattern in text:
            text = text.replace(pattern, REDACTED)
    return text


def text_of_markup(text: str) -> str:
    """The words of an HTML page (tags, scripts and comments dropped, entities decoded), whitespace folded."""
    text = _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], _MARKUP.sub(" ", text))
    return " ".join(text.split())


def mask_key_shaped(text: str) -> str:
    """Mask key-shaped runs in caller-supplied text (`sk-og-…abcd` keeps the last 4 for support)."""
    return _TOKEN_SHAPES.sub(lambda m: m.group(0)[:3] + "…" + m.group(0)[-4:], text)


STORED_TEXT_LIMIT = 512  # characters of one caller-supplied string a log row keeps


@overload
def stored_text(text: str, limit: int = STORED_TEXT_LIMIT) -> str: ...
@overload
def stored_text(text: None, limit: int = STORED_TEXT_LIMIT) -> None: ...
@overload
def stored_text(text: str | None, limit: int = STORED_TEXT_LIMIT) -> str | None: ...
def stored_text(text: str | None, limit: int = STORED_TEXT_LIMIT) -> str | None:
    """Caller-supplied text fit for a log row (path, user agent, model, client version): key-shaped runs
    masked, at most `limit` characters. Cut before masking so a megabyte costs no more than `limit` does."""
    if not text:
        return text
    return cap(mask_key_shaped(storable(text[: 2 * limit])), limit)


def storable(text: str) -> str:
    """`text` without NUL characters, which PostgreSQL's text columns refuse: one in a log row (a model name
    `"\\u0000"`, an upstream's error message) failed its whole batch, and the spilled batch's replay failed
    the same way forever. Replaced by U+FFFD, as an undecodable byte is."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def cap(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


# An upstream error that quotes the request (the prompt) is cut where it does: any run of this many
# characters also found in the request is replaced. Only this much of the request's head and tail is
# searched, so a huge body costs a bounded scan (error paths only).
ECHO_RUN = 32
ECHO_SCAN_BYTES = 512 * 1024
QUOTED = "[request text]"


def drop_request_echoes(text: str, request: bytes) -> str:
    """`text` without the runs of `ECHO_RUN`+ characters it shares with `request` (what it quotes of it)."""
    if len(text) < ECHO_RUN or not request:
        return text
    if len(request) > 2 * ECHO_SCAN_BYTES:
        request = request[:ECHO_SCAN_BYTES] + b"\0" + request[-ECHO_SCAN_BYTES:]
    step = ECHO_RUN // 2  # a shared run of 1.5 windows always contains one whole window at a step
    hits = [i for i in range(0, len(text) - ECHO_RUN + 1, step) if text[i : i + ECHO_RUN].encode() in request]
    if not hits:
        return text
    out: list[tuple[int, int]] = []
    end = 0
    for i in hits:
        start, stop = i, i + ECHO_RUN
        while start > end and text[start - 1 : stop].encode() in request:  # grow to the whole shared run
            start -= 1
        while stop < len(text) and text[start : stop + 1].encode() in request:
            stop += 1
        if start < end:  # overlaps the previous run: extend it
            out[-1] = (out[-1][0], max(out[-1][1], stop))
        else:
            out.append((start, stop))
        end = max(end, stop)
    pieces: list[str] = []
    last = 0
    for start, stop in out:
        pieces += [text[last:start], QUOTED]
        last = stop
    return "".join(pieces) + text[last:]


def redact_upstream_text(text: str, known: Iterable[str] = (), limit: int = STORED_ERROR_LIMIT) -> str:
    """Upstream text fit for a client or a log row: secrets redacted, control characters gone, capped."""
    text = redact_secrets(text, known)
    text = "".join(ch if ch.isprintable() or ch == " " else " " for ch in text)
    return cap(text, limit)


@dataclass(frozen=True, slots=True)
class UpstreamText:
    """How onegate repeats one channel's words: the one place upstream text enters (errors only).

    `secrets` are the channel's own credential values; `hide_5xx` is the operator's choice to keep the
    upstream's words out of every answer onegate gives as a 5xx (the log keeps them, redacted).
    """

    secrets: tuple[str, ...] = ()
    hide_5xx: bool = False

    def clean(self, text: str, request: bytes = b"", limit: int = UPSTREAM_TEXT_LIMIT) -> str:
        """Redacted (the channel's keys, credential-shaped runs), markup and control characters gone, capped;
        with the `request` it answers, what it quotes of that request (the prompt) is cut too."""
        if text.lstrip().startswith("<"):  # an HTML page (a proxy's error page), not a message
            text = text_of_markup(text)
        text = redact_upstream_text(text, self.secrets, 4 * limit)
        return cap(drop_request_echoes(text, request) if request else text, limit)
