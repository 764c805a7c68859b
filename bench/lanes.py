"""What load is sent where: targets (servers under test) and workloads (request shapes) make lanes.

A *lane* is one (workload, target) pair: a name, a path, a body, headers and the target's base URL.
To add a lane, add a :class:`Workload` to ``WORKLOADS`` with the path it uses on each target that
supports it; targets without a path for it are simply skipped. The ``messages-stream`` lane below is
served by onegate alone (the fake upstream only speaks OpenAI; see the comment there for LiteLLM).
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

    name: str  # "upstream", "onegate", "onegate-3ch", "litellm"
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
    baseline: str | None = None  # a workload to report this one's added latency against, on the same target


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
    "onegate-3ch": "/api/v1/chat/completions",  # BENCH_THREE_CHANNELS=1: the same model over three channels
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
    # Anthropic Messages in, OpenAI-compatible upstream out (Claude Code on DeepSeek/GPT): onegate translates
    # the request, and the stream event by event; reported beside the chat-stream pass-through. No LiteLLM
    # path: its /v1/messages sends OpenAI models to the upstream's /v1/responses, a different lane.
    Workload(
        name="messages-stream",
        body=_json({"model": MODEL, "max_tokens": 64, "messages": USER_HI, "stream": True}),
        paths={"onegate": "/api/v1/messages"},
        headers={"anthropic-version": "2023-06-01"},
        expect=b"event: message_stop",
        baseline="chat-stream",
    ),
    # Responses in, Chat Completions upstream out (Codex CLI on DeepSeek/GPT): translated both ways, streamed;
    # reported beside the chat-stream pass-through like messages-stream. No LiteLLM path: its `openai/`
    # deployment would send this to the upstream's own /v1/responses, a pass-through, not this lane.
    Workload(
        name="responses-stream",
        body=_json({"model": MODEL, "input": "Say hello in five words.", "stream": True}),
        paths={"onegate": "/api/v1/responses"},
        expect=b"event: response.completed",
        baseline="chat-stream",
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
