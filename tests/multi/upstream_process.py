"""The fake upstream in a process of its own (the multi-instance tests' load would starve it in theirs):
`python -m tests.multi.upstream_process --port P [--delay S] [--stream-chunks N] [--chunk-delay S]`."""

from __future__ import annotations

import argparse

import uvicorn

from tests.conftest import UPSTREAM_SECRET
from tests.fakes.openai_upstream import FakeOpenAIUpstream


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before the status line")
    parser.add_argument("--stream-chunks", type=int, default=4)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    args = parser.parse_args()
    app = FakeOpenAIUpstream("127.0.0.1", args.port, record=False)
    app.required_api_key = UPSTREAM_SECRET
    app.delay_before_headers, app.stream_chunks, app.chunk_delay = args.delay, args.stream_chunks, args.chunk_delay
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
