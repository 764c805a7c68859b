"""The disconnect watch cancels work when a client leaves, never when the response simply completed."""

from __future__ import annotations

import asyncio

from onegate.asgi import Responder, run_until_disconnect
from onegate.context import RequestContext
from onegate.diagnosis.clients import ClientInfo


def _responder() -> Responder:
    async def send(message) -> None:
        pass

    ctx = RequestContext("req_t", "POST", "/", {}, ClientInfo("unknown", "", ""), "openai_chat")
    return Responder(send, ctx)


async def _disconnect() -> dict:
    await asyncio.sleep(0.01)
    return {"type": "http.disconnect"}


async def test_work_after_a_complete_response_is_not_cancelled():
    responder = _responder()
    finished_work = asyncio.Event()

    async def work() -> None:
        await responder.send_body(200, b"{}")
        await asyncio.sleep(0.05)  # e.g. settling the charge after the last byte
        finished_work.set()

    assert await run_until_disconnect(work(), _disconnect, responder) is False
    assert finished_work.is_set()


async def test_a_client_leaving_mid_response_cancels_the_work():
    responder = _responder()

    async def work() -> None:
        await responder.start_stream()
        await asyncio.sleep(5)

    assert await asyncio.wait_for(run_until_disconnect(work(), _disconnect, responder), 1) is True
