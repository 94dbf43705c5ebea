"""The proxied port's connection limits, as the real process applies them."""

from __future__ import annotations

import asyncio
import time

from tests.support.gateway_process import Launch
from tests.support.polling import DEADLINE


async def test_a_client_slower_than_client_header_is_dropped(launch: Launch) -> None:
    gateway = await launch(client_header="1s")
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    started = time.monotonic()
    writer.write(b"GET / HTTP/1.1\r\nHost: gateway\r\n")  # and never the blank line
    await writer.drain()
    async with asyncio.timeout(DEADLINE):
        assert await reader.read() == b""  # closed without an answer
    assert time.monotonic() - started > 0.5  # the deadline, not an immediate refusal
    writer.close()
    assert (await gateway.get("/x"))[0] == 200  # a prompt client is served
