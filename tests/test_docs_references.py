"""The README, docs and source comments point only at files a clone has, and at sections that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


_OUTSIDE = re.compile(r"\.\./shared|/work/shared")


_DOC_REF = re.compile(r"docs/([A-Z]+\.md)((?: §[\d.]+,?)*)")


_SECTION = re.compile(r"§([\d.]+)")


def _texts() -> dict[Path, str]:
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    for folder in ("src", "tests", "scripts", "bench", ".ci"):
        files += [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in (".py", ".md", ".yaml", "")]
    return {p: p.read_text(errors="replace") for p in files if "egg-info" not in str(p) and p != Path(__file__)}


def test_nothing_points_outside_the_repository():
    offenders = [f"{p.relative_to(ROOT)}:{m.group(0)}" for p, t in _texts().items() for m in _OUTSIDE.finditer(t)]
    assert offenders == []


def test_every_docs_reference_names_an_existing_file_and_section():
    missing = []
    for path, text in _texts().items():
        for ref in _DOC_REF.finditer(text):
            doc = ROOT / "docs" / ref.group(1)
            if not doc.exists():
                missing.append(f"{path.relative_to(ROOT)}: {ref.group(0)}")
                continue
            headings = doc.read_text()
            for section in (s.rstrip(".") for s in _SECTION.findall(ref.group(2))):
                if not re.search(rf"^#+ {re.escape(section)}\.? ", headings, re.M):
                    missing.append(f"{path.relative_to(ROOT)}: {ref.group(0)}")
    assert missing == []
