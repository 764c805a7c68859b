"""Attack: any body a client can write makes onegate answer 500, or stop serving.

Property-based: for each surface, thousands of bodies that look like what clients send with wrong types,
deep nesting and stray fields injected at random places (tests/security/bodies.py), sent to the real app
in-process. Never a 500, every error in the caller's dialect, and the gateway still serves afterwards.

The normal suite sends 5,000 bodies per surface. More, in the run marked slow (deselected by default):
    .venv/bin/python -m pytest -p no:cacheprovider -m slow tests/security/test_fuzz_bodies.py
(ONEGATE_FUZZ_EXAMPLES sets how many bodies per surface the slow run sends; 50,000 unless set).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from random import Random
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.security.bodies import SURFACES, mutate
from tests.security.harness import PASSTHROUGH_OPENAI, InProcessGateway, assert_in_dialect

EXAMPLES = 5_000
VARIANTS = 10  # mutations of each body hypothesis draws
SLOW_EXAMPLES = int(os.environ.get("ONEGATE_FUZZ_EXAMPLES", "50000"))
_FUZZ = {
    "deadline": None,
    "database": None,  # nothing written into the repository; a failure prints the body that broke it
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@pytest.fixture(scope="module")
def quiet_fakes(_upstream_server: FakeOpenAIUpstream, _anthropic_server: FakeAnthropicUpstream) -> Iterator[None]:
    """The fakes in their default behaviour, not keeping thousands of requests in memory."""
    fakes = (_upstream_server, _anthropic_server)
    for fake in fakes:
        fake.reset()
        fake.record = False
    yield
    for fake in fakes:
        fake.record = True
        fake.reset()


def _check(gateway: InProcessGateway, surface: str, body: dict[str, Any]) -> None:
    path, family, _ = SURFACES[surface]
    try:
        raw = orjson.dumps(body)
    except orjson.JSONEncodeError:  # deep values injected inside each other: more than JSON writers allow
        reject()
    answer = gateway.post(path, raw)
    assert answer.status != 500, (answer, body)
    assert 200 <= answer.status < 600, answer
    if answer.status >= 300:
        assert_in_dialect(answer, family)


def _still_serving(gateway: InProcessGateway) -> None:
    answer = gateway.post(
        "/api/v1/chat/completions", {"model": PASSTHROUGH_OPENAI, "messages": [{"role": "user", "content": "hi"}]}
    )
    assert answer.status == 200, answer


def _fuzz(gateway: InProcessGateway, surface: str, bodies: int) -> None:
    """`bodies` bodies: drawn shapes, each mutated VARIANTS times (see tests/security/bodies.py)."""

    @settings(max_examples=bodies // VARIANTS, **_FUZZ)
    @given(valid=SURFACES[surface][2], rnd=st.randoms(use_true_random=False))
    def fuzz(valid: dict[str, Any], rnd: Random) -> None:
        for _ in range(VARIANTS):
            _check(gateway, surface, mutate(valid, rnd))

    fuzz()
    _still_serving(gateway)


@pytest.mark.parametrize("surface", list(SURFACES))
def test_no_body_makes_a_500(in_process: InProcessGateway, quiet_fakes: None, surface: str) -> None:
    _fuzz(in_process, surface, EXAMPLES)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # 50,000 bodies take minutes, past the suite's 120 s per test
@pytest.mark.parametrize("surface", list(SURFACES))
def test_no_body_makes_a_500_long_run(in_process: InProcessGateway, quiet_fakes: None, surface: str) -> None:
    _fuzz(in_process, surface, SLOW_EXAMPLES)
