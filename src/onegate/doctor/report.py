"""The evidence record of a doctor run: its steps, and where and with what it ran."""

from __future__ import annotations

import platform
from dataclasses import asdict

from onegate import __version__
from onegate.diagnosis.keys import mask
from onegate.diagnosis.profiles import display_name
from onegate.doctor.evidence import Evidence, iso
from onegate.doctor.steps import DoctorInput, Step
from onegate.doctor.urlshape import shown_url


def from_doctor(d: DoctorInput, steps: list[Step], client_version: str, started: float, elapsed_ms: float) -> Evidence:
    facts = {
        "tool": f"onegate doctor {__version__}",
        "client": (display_name(d.client, "en") if d.client != "unknown" else "not given (--client)")
        + (f" {client_version}" if client_version else ""),
        "os": platform.platform(),
        "python": platform.python_version(),
        "base_url": shown_url(d.base_url),
        "requests_to": d.root,
        "model": d.model,
        "key": mask(d.key),
        "started_at": iso(started),
        "duration_ms": round(elapsed_ms),
    }
    rows = [{k: v for k, v in asdict(s).items() if v not in (None, "")} for s in steps]
    errors = [(s.name, s.error_text) for s in steps if s.error_text]
    result = "fail" if any(s.status == "fail" for s in steps) else "pass"
    return Evidence("onegate doctor", result, facts, rows, errors)
