"""A setup guide as terminal text, as an HTML page, or as JSON: the same content three ways."""

from __future__ import annotations

import unicodedata
from html import escape

import orjson

from onegate.i18n.catalog import text
from onegate.setup.guides import CLIENTS, Guide
from onegate.setup.style import STYLE

EMPTY = '""'  # an empty value is shown as such, not as blank space


def _width(s: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def as_text(guide: Guide) -> str:
    lang = guide.lang
    lines = [guide.title, "=" * len(guide.title), guide.intro, "", text("setup.heading.fields", lang) + ":"]
    width = max((_width(f.label) for f in guide.fields), default=0)
    lines += [f"  {f.label}{' ' * (width - _width(f.label))}  {f.value or EMPTY}" for f in guide.fields]
    for snippet in guide.snippets:
        title = f"{snippet.title} ({snippet.filename})" if snippet.filename else snippet.title
        lines += ["", title + ":", *("  " + line for line in snippet.content.rstrip("\n").splitlines())]
    lines += ["", text("setup.heading.test", lang) + ":", "  " + guide.test_command]
    if guide.notes:
        lines += ["", text("setup.heading.notes", lang) + ":", *(f"  - {n}" for n in guide.notes)]
    return "\n".join(lines) + "\n"


def as_json(guide: Guide) -> bytes:
    return orjson.dumps(guide.as_dict())


def page(title: str, body: str, lang: str) -> bytes:
    """A complete, self-contained HTML page (no scripts, no external assets)."""
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!doctype html><html lang="{html_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    ).encode()


def guide_links(lang: str) -> str:
    links = "".join(f'<a href="/setup/{c}?lang={lang}">{escape(text(f"setup.{c}.title", lang))}</a>' for c in CLIENTS)
    return f"<h2>{escape(text('setup.heading.guides', lang))}</h2><nav>{links}</nav>"


def as_html(guide: Guide) -> bytes:
    lang = guide.lang
    other, other_name = ("zh", "中文") if lang == "en" else ("en", "English")
    rows = "".join(f"<tr><td>{escape(f.label)}</td><td><code>{escape(f.value)}</code></td></tr>" for f in guide.fields)
    parts = [
        f'<p><a href="/?lang={lang}">onegate</a> · <a href="?lang={other}">{other_name}</a></p>',
        f"<h1>{escape(guide.title)}</h1><p>{escape(guide.intro)}</p>",
        f"<h2>{escape(text('setup.heading.fields', lang))}</h2><table>{rows}</table>",
    ]
    for snippet in guide.snippets:
        name = f" <code>{escape(snippet.filename)}</code>" if snippet.filename else ""
        parts.append(f"<h3>{escape(snippet.title)}{name}</h3><pre>{escape(snippet.content)}</pre>")
    parts.append(f"<h2>{escape(text('setup.heading.test', lang))}</h2><pre>{escape(guide.test_command)}</pre>")
    if guide.notes:
        items = "".join(f"<li>{escape(n)}</li>" for n in guide.notes)
        parts.append(f"<h2>{escape(text('setup.heading.notes', lang))}</h2><ul>{items}</ul>")
    parts.append(guide_links(lang))
    return page(f"onegate · {guide.title}", "".join(parts), lang)
