"""How heavy and how quick the console is to open: a real `onegate serve` on a free port, Debian's Chromium
through Playwright with the owner's session; N times, the dashboard, keys and logs pages opened with an empty
browser cache (cold) and then again (warm) until their chart or table is shown.

    .venv/bin/python bench/console_page.py [--runs 5]

Prints the requests and bytes of one cold load, as sent over the wire (gzip) and unpacked (what a phone on a
slow link pays; vendored files are cached for a year after it), and the median and worst time to a shown
chart or table.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

TOKEN = "bench-console-owner-token-0001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(root: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(root + "/healthz", timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("onegate did not start")


def sign_in(root: str) -> str:
    """The owner's session cookie, from the API the sign-in page calls."""
    request = urllib.request.Request(
        root + "/admin/api/v1/session", data=b'{"token": "%s"}' % TOKEN.encode(), method="POST",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        cookie = response.headers["set-cookie"]
    return cookie.split(";", 1)[0].split("=", 1)[1]


def body_sizes(response: Any) -> tuple[int, int]:
    """(bytes on the wire, bytes unpacked) of a response body; a 304 sends none."""
    if response.status != 200:
        return 0, 0
    return response.request.sizes()["responseBodySize"], len(response.body())


SHOWN = {  # what on each page means "open": the dashboard's chart needs ECharts, the lists their table
    "dashboard": "[data-testid=dashboard-chart] canvas",
    "keys": "table, .empty",
    "logs": "table, .empty",
}


def open_page(page: Any, root: str, name: str) -> float:
    """Milliseconds from navigation to the page's chart or table (or its empty notice) on screen."""
    started = time.perf_counter()
    page.goto(root + f"/console/{name}")
    page.get_by_test_id(f"page-{name}").locator(SHOWN[name]).first.wait_for()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        env = os.environ | {"ONEGATE_ADMIN_TOKEN": TOKEN}
        onegate = Path(sys.executable).with_name("onegate")
        command = [str(onegate), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", data]
        server = subprocess.Popen(command, env=env)
        try:
            wait_up(root)
            cookie = sign_in(root)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                for name in SHOWN:
                    cold, warm, loads = [], [], []
                    for _ in range(args.runs):
                        context = browser.new_context()  # an empty cache every run
                        context.add_cookies([{"name": "onegate_session", "value": cookie, "url": root}])
                        page = context.new_page()
                        responses: list[Any] = []

                        def keep(response: Any, responses: list[Any] = responses) -> None:
                            responses.append(response)

                        page.on("response", keep)
                        cold.append(open_page(page, root, name))
                        page.remove_listener("response", keep)
                        sizes = [body_sizes(r) for r in responses]  # before the next navigation drops the bodies
                        loads.append((len(sizes), sum(s[0] for s in sizes), sum(s[1] for s in sizes)))
                        warm.append(open_page(page, root, name))  # again: vendor cached, our files a 304
                        context.close()
                    requests, wire, size = loads[0]
                    print(
                        f"/console/{name}: cold {requests} requests, {wire / 1024:.0f} KiB sent "
                        f"({size / 1024:.0f} KiB unpacked); to a shown chart or table "
                        f"cold: median {statistics.median(cold):.0f} ms (worst {max(cold):.0f}), "
                        f"warm: median {statistics.median(warm):.0f} ms ({args.runs} runs)"
                    )
                browser.close()
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
