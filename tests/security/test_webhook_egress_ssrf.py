"""Webhook egress cannot be turned against private networks (SSRF): only globally routable addresses,
judged on what the name resolves to, resolved once and pinned (no DNS rebinding), no redirects; private
targets only through an explicit allow-list. The receiver is a real HTTP server on loopback."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from onegate.accounting.webhook import is_public, post_webhook

NOT_PUBLIC = [
    # IPv4
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space (carrier NAT)
    "100.100.100.200",  # Alibaba Cloud metadata, inside 100.64.0.0/10
    "192.88.99.1",  # 6to4 relay anycast
    "0.0.0.0",
    "192.0.0.8",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "2001::1",  # Teredo
    "100::1",
    # IPv4 inside IPv6
    "::ffff:127.0.0.1",  # mapped
    "::ffff:10.0.0.1",
    "::ffff:100.100.100.200",
    "::127.0.0.1",  # IPv4-compatible
    "::8.8.8.8",  # IPv4-compatible, even of a public address: never a real host
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::808:808",  # local-use NAT64
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "2002:808:808::1",  # 6to4 of a public address
    "64:ff9b::808:808",  # NAT64 of a public address
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_global_addresses_are_not_public(address: str) -> None:
    assert is_public(address) is False


@pytest.mark.parametrize("address", PUBLIC)
def test_global_addresses_are_public(address: str) -> None:
    assert is_public(address) is True


class _Receiver(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("content-length", 0)))
        _Receiver.hits.append(self.path)
        if self.path == "/redirect":
            self.send_response(307)
            self.send_header("location", "/elsewhere")
        else:
            self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "127.1", "2130706433", "0x7f.0.0.1"],
)
async def test_loopback_in_any_spelling_is_refused(receiver: int, host: str) -> None:
    status = await post_webhook(f"http://{host}:{receiver}/hook", {"a": 1}, allow_private=False)
    assert status.startswith("refused:"), status
    assert _Receiver.hits == []


async def test_a_name_with_any_private_answer_is_refused(receiver: int) -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "127.0.0.1"]

    status = await post_webhook(f"http://hooks.example:{receiver}/hook", {}, allow_private=False, resolve=mixed)
    assert status == "refused: hooks.example resolves to 127.0.0.1, which is not a public address"


async def test_the_checked_address_is_pinned_against_dns_rebinding(receiver: int) -> None:
    """The first answer is checked (allowed by the list); a second lookup would say 127.0.0.2, where nothing
    listens and which the list does not allow. The POST arrives: it used the address that was checked."""
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    status = await post_webhook(
        f"http://hooks.example:{receiver}/hook",
        {"a": 1},
        allow_private=False,
        allow_networks=["127.0.0.1/32"],
        resolve=rebinding,
    )
    assert status == "204"
    assert calls == ["hooks.example"]  # resolved once
    assert _Receiver.hits == ["/hook"]


async def test_the_allow_list_admits_only_its_networks(receiver: int) -> None:
    url = f"http://127.0.0.1:{receiver}/hook"
    assert (await post_webhook(url, {}, allow_private=False, allow_networks=["10.0.0.0/8"])).startswith("refused:")
    assert await post_webhook(url, {}, allow_private=False, allow_networks=["127.0.0.0/8"]) == "204"


async def test_redirects_are_not_followed(receiver: int) -> None:
    url = f"http://127.0.0.1:{receiver}/redirect"
    assert await post_webhook(url, {}, allow_private=False, allow_networks=["127.0.0.1/32"]) == "307"
    assert _Receiver.hits == ["/redirect"]


async def test_a_silent_receiver_times_out_quickly() -> None:
    import socket
    import time

    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        status = await post_webhook(
            f"http://127.0.0.1:{port}/hook", {}, allow_private=False, timeout=1.0, allow_networks=["127.0.0.1/32"]
        )
    assert status.startswith("failed:")
    assert time.monotonic() - started < 3
