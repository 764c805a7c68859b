"""Log lines nobody can forge: control characters in logged text are escaped.

A path like `/x%0d%0aCRITICAL: …`, a user agent or a model name reaches log messages as text; written
raw, its CR/LF would start a line that looks like one of the server's own. `EscapeControls` is a filter
on every handler `onegate serve` installs: it escapes the message and its string arguments (so uvicorn's
access formatter, which reads the arguments, gets them escaped too), and indents every line of a
traceback, so a log record always starts at column 0 and nothing else does.
"""

from __future__ import annotations

import logging
import re

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match[str]) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def escape_controls(text: str) -> str:
    """`a\\r\\nb` → `a\\\\r\\\\nb`: one visible line, whatever the text holds."""
    return _CONTROLS.sub(_escape_one, text) if _CONTROLS.search(text) else text


_PLAIN = (str, int, float, type(None))


def _arg(value: object) -> object:
    return escape_controls(value) if isinstance(value, str) else value


class EscapeControls(logging.Filter):
    """Rewrites each record in place before any formatter sees it."""

    _tracebacks = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and isinstance(record.msg, str) and all(isinstance(a, _PLAIN) for a in args):
            # kept apart: uvicorn's access formatter reads the arguments themselves
            record.msg = escape_controls(record.msg)
            record.args = tuple(_arg(a) for a in args)
        else:  # an object whose str() may hold anything (an exception's text): escape the finished message
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                message = str(record.msg)
            record.msg, record.args = escape_controls(message), None
        if record.exc_info and not record.exc_text:
            text = self._tracebacks.formatException(record.exc_info)
            record.exc_text = "\n".join("  " + escape_controls(line) for line in text.split("\n"))
        if record.stack_info:
            record.stack_info = "\n".join("  " + escape_controls(line) for line in record.stack_info.split("\n"))
        return True
