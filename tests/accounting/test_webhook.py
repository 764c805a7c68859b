"""The alert webhook never reaches a private address unless the config allows it."""

from __future__ import annotations

import pytest

from onegate.accounting.webhook import is_public, post_webhook
from tests.accounting.conftest import _Receiver


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("127.0.0.1", False), ("10.1.2.3", False), ("169.254.169.254", False),
     ("::1", False), ("::ffff:127.0.0.1", False), ("fd00::1", False), ("2606:4700::1111", True), ("0.0.0.0", False)],
)  # fmt: skip
def test_private_and_special_addresses_are_not_public(address, public):
    assert is_public(address) is public


async def test_webhook_refuses_loopback_unless_private_addresses_are_allowed(receiver):
    url, port = receiver
    assert (await post_webhook(url, {"a": 1}, allow_private=False)).startswith("refused:")
    by_name = await post_webhook(f"http://localhost:{port}/hook", {"a": 1}, allow_private=False)
    assert by_name.startswith("refused:") and "not a public address" in by_name
    assert _Receiver.received == []
    assert await post_webhook(url, {"a": 1}, allow_private=True) == "204"
    assert _Receiver.received == [{"a": 1}]
