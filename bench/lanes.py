"""What load is sent where: targets (servers under test) and workloads (request shapes) make lanes.

A *lane* is one (workload, target) pair: a name, a path, a body, headers and the target's base URL.
To add a lane, add a :class:`Workload` to ``WORKLOADS`` with the path it uses on each target that
supports it; targets without a path for it are simply skipped. For example an Anthropic
Messages-in → OpenAI-upstream translation lane would be::

    Workload(
        name="messages", body=_json({"model": MODEL, "max_tokens": 64, "messages": USER_HI}),
        paths={"onegate": "/api/v1/messages", "litellm": "/v1/messages"},
        headers={"anthropic-version": "2023-06-01"}, expect=b'"type":"message"',
    )

(`upstream` gets no path because the fake upstream only speaks OpenAI.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

MODEL = "gpt-4.1-mini"
USER_HI = [{"role": "user", "content": "Say hello in five words."}]


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Target:
    """A server under test: where it listens and how to authenticate to it."""

    name: str  # "upstream", "onegate", "litellm"
    base_url: str  # scheme://host:port, no path
    headers: dict[str, str] = field(default_factory=dict)  # auth
    pid: int | None = None  # for RSS; None when not ours to measure


@dataclass(frozen=True)
class Workload:
    """A request shape, with the path it is served at on each target that supports it."""

    name: str
    body: bytes
    paths: dict[str, str]  # target name -> request path
    headers: dict[str, str] = field(default_factory=dict)
    expect: bytes = b""  # a substring every correct response contains (checked once before the load)


@dataclass(frozen=True)
class Lane:
    workload: str
    target: str
    url: str
    body: bytes
    headers: dict[str, str]
    expect: bytes


OPENAI_PATHS = {
    "upstream": "/v1/chat/completions",
    "onegate": "/api/v1/chat/completions",
    "litellm": "/v1/chat/completions",
}

WORKLOADS: list[Workload] = [
    Workload(
        name="chat",
        body=_json({"model": MODEL, "messages": USER_HI}),
        paths=OPENAI_PATHS,
        expect=b"Hello from fake upstream.",
    ),
    Workload(
        name="chat-stream",
        body=_json({"model": MODEL, "messages": USER_HI, "stream": True}),
        paths=OPENAI_PATHS,
        expect=b"data: [DONE]",
    ),
]


def build_lanes(targets: list[Target], only: set[str] | None = None) -> list[Lane]:
    """Every (workload, target) pair the workload has a path for, workload-major."""
    lanes = []
    for w in WORKLOADS:
        if only and w.name not in only:
            continue
        for t in targets:
            path = w.paths.get(t.name) or w.paths.get(t.name.split("+")[0])  # onegate+redis: as onegate
            if path is None:
                continue
            headers = {"Content-Type": "application/json", **t.headers, **w.headers}
            lanes.append(Lane(w.name, t.name, t.base_url + path, w.body, headers, w.expect))
    return lanes
