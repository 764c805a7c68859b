"""The evidence record a user pastes into a ticket: from a doctor run (doctor/report.py) or from one
request-log row. Pure, and low in the house (the management API builds it from a log row): it imports no
doctor step and no HTTP.

Markdown for people, JSON for tools; the same fields either way. Nothing secret goes in: keys are masked to
their last four characters, URLs lose credentials, prompts are never logged in the first place.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from onegate.i18n.catalog import text

STEP_MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP"}


@dataclass
class Evidence:
    source: str  # "onegate doctor" | "onegate request log"
    result: str  # pass | fail
    facts: dict[str, Any]  # ordered: what, who, where, when
    steps: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (step or field, the server's original text)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_json(self) -> str:
        return orjson.dumps(self.as_dict(), option=orjson.OPT_INDENT_2).decode()


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


_LOG_FACTS = (
    "request_id",
    "created_at",
    "client",
    "user_agent",
    "request",
    "dialect",
    "key_mask",
    "model_requested",
    "model_routed",
    "channel",
    "status",
    "error_code",
    "stream",
    "latency_ms",
    "ttfb_ms",
    "timings",
    "tokens",
    "cost_micros",
    "config_hint",
    "notes",
)


def from_log(row: dict[str, Any]) -> Evidence:
    derived = {
        "created_at": iso(row["created_at"]),
        "client": " ".join(p for p in (row.get("client_name"), row.get("client_version")) if p),
        "request": f"{row['method']} {row['path']}",
        "tokens": f"in {row['input_tokens']} (cached {row['cached_tokens']}) / out {row['output_tokens']}",
        # where the time went (the Server-Timing phases): "auth 0.1 ms, admit 0.4 ms, …, total 812 ms"
        "timings": ", ".join(f"{k} {v:g} ms" for k, v in orjson.loads(row["timings"]).items())
        if row.get("timings")
        else None,
    }
    facts = {name: derived.get(name, row.get(name)) for name in _LOG_FACTS}
    facts = {k: v for k, v in facts.items() if v not in (None, "")}
    attempts = orjson.loads(row["attempts"]) if row.get("attempts") else []
    errors = [("error_message", row["error_message"])] if row.get("error_message") else []
    result = "fail" if row["status"] >= 400 else "pass"
    return Evidence("onegate request log", result, facts, attempts, errors)


def as_markdown(evidence: Evidence, lang: str = "en") -> str:
    lines = [
        f"### {text('evidence.title', lang)} ({evidence.source}): {evidence.result.upper()}",
        "",
        f"| {text('evidence.field', lang)} | |",
        "|---|---|",
    ]
    lines += [f"| {name} | {_cell(value)} |" for name, value in evidence.facts.items()]
    if evidence.steps and "status" in evidence.steps[0] and "name" in evidence.steps[0]:
        lines += ["", f"| {text('evidence.step', lang)} | | HTTP | ms | request id |", "|---|---|---|---|---|"]
        for s in evidence.steps:
            ms = f"{s['ms']:.0f}" if isinstance(s.get("ms"), int | float) else ""
            summary = STEP_MARK[s["status"]] + " " + s.get("summary", "") + (f" → {s['fix']}" if s.get("fix") else "")
            lines.append(
                f"| {s['name']} | {_cell(summary)} | {s.get('http_status', '')} | {ms} | {s.get('request_id', '')} |"
            )
    elif evidence.steps:
        lines += [
            "",
            f"{text('evidence.attempts', lang)}:",
            *(f"- `{orjson.dumps(a).decode()}`" for a in evidence.steps),
        ]
    if evidence.errors:
        lines += ["", f"{text('evidence.errors', lang)}:"]
        lines += [f"- {name}: `{_cell(message)}`" for name, message in evidence.errors]
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
