"""A client sending its headers a byte at a time is dropped after `timeouts.client_header`;
a normal client, a slow body and an idle keep-alive connection are not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gateway.serve.connections import guarded_runner

TIMEOUT = 1.0


async def echo(request: web.BaseRequest) -> web.Response:
    body = await request.read()
    return web.Response(text=f"got {len(body)}")


@pytest.fixture
async def port() -> AsyncIterator[int]:
    runner = guarded_runner(echo, header_timeout=TIMEOUT, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner.addresses[0][1]
    await runner.cleanup()


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), seconds) == b""
    except TimeoutError:
        return False


async def test_trickled_headers_are_dropped(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
    closed = False
    for byte in b"X-Slow: " + b"a" * 40:
        writer.write(bytes([byte]))
        await writer.drain()
        if await closed_within(reader, 0.2):  # the slow client's own pace
            closed = True
            break
    assert closed and time.monotonic() - started < TIMEOUT + 2
    writer.close()


async def test_silent_connection_is_dropped(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await closed_within(reader, TIMEOUT + 2)
    writer.close()


async def test_slow_body_and_keep_alive_are_not_limited(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
    await writer.drain()
    assert not await closed_within(reader, TIMEOUT + 0.5)  # body pauses past the deadline
    writer.write(b"cd")
    assert b"got 4" in await asyncio.wait_for(reader.read(200), 5)
    assert not await closed_within(reader, TIMEOUT + 0.5)  # idle keep-alive survives
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"got 0" in await asyncio.wait_for(reader.read(200), 5)
    writer.close()
