"""gateway.upstream.forward streams both ways: bytes move before either side finishes, failures in
the middle of a body cut the other side instead of ending it cleanly, and memory stays flat
for a GiB each way."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gateway.config import Timeouts
from tests.integration.forwarder import (
    Forwarding,
    RawUpstream,
    Through,
    loopback,
    serving,
)

DEADLINE = 5.0  # seconds: generous bound for things that should happen at once
ROOT = Path(__file__).resolve().parents[3]


def single_route(handler: Any, method: str = "*") -> web.Application:
    app = web.Application()
    app.router.add_route(method, "/{tail:.*}", handler)
    return app


async def within_deadline(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), DEADLINE)


# --- bytes move before either side is done -----------------------------------------------


async def test_request_body_reaches_upstream_before_the_client_finishes(through: Through) -> None:
    first_arrived = asyncio.Event()
    received: list[bytes] = []

    async def upstream(request: web.Request) -> web.Response:
        received.append(await request.content.readexactly(5))
        first_arrived.set()
        received.append(await request.content.read())
        return web.Response(text="ok")

    client, _ = await through(single_route(upstream))

    async def body() -> AsyncIterator[bytes]:
        yield b"part1"
        # A forwarder that buffered the body would never let the upstream see part1 here.
        await within_deadline(first_arrived)
        yield b"part2"

    async with client.post("/", data=body()) as resp:
        assert resp.status == 200
    assert received == [b"part1", b"part2"]


async def test_response_reaches_client_before_the_upstream_finishes(through: Through) -> None:
    release = asyncio.Event()

    async def upstream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first")
        await release.wait()
        await response.write(b"second")
        await response.write_eof()
        return response

    client, _ = await through(single_route(upstream))
    try:
        async with client.get("/") as resp:
            first = await asyncio.wait_for(resp.content.readexactly(5), DEADLINE)
            release.set()
            rest = await resp.content.read()
    finally:
        release.set()
    assert (first, rest) == (b"first", b"second")


# --- the upstream fails in the middle of its body ----------------------------------------

HEAD_BY_FRAMING = {
    "content-length": b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nhello",
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
}


@pytest.mark.parametrize("framing", HEAD_BY_FRAMING)
async def test_upstream_dying_mid_body_cuts_the_client(
    through: Through, raw: RawUpstream, framing: str
) -> None:
    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if head.startswith(b"GET /next "):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        else:  # part of the body, then the connection drops
            writer.write(HEAD_BY_FRAMING[framing])
        await writer.drain()

    client, forwarding = await through(await raw.start(upstream))
    async with client.get("/big") as resp:
        assert resp.status == 200
        assert await resp.content.readexactly(5) == b"hello"
        # Never a clean end (a last chunk): the client must see the truncation.
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(resp.content.read(), DEADLINE)
    async with client.get("/next") as resp:
        assert await resp.read() == b"ok"
    assert [e.reason for e in forwarding.errors] == ["reset"]


async def test_upstream_stalling_mid_body_cuts_the_client(through: Through) -> None:
    never = asyncio.Event()

    async def upstream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first")
        await never.wait()
        return response

    client, forwarding = await through(single_route(upstream), timeouts=Timeouts(upstream=0.2))
    try:
        async with client.get("/") as resp:
            assert await resp.content.readexactly(5) == b"first"
            with pytest.raises(aiohttp.ClientPayloadError):
                await asyncio.wait_for(resp.content.read(), DEADLINE)
    finally:
        never.set()
    assert [e.reason for e in forwarding.errors] == ["timeout"]


# --- the client goes away ----------------------------------------------------------------

UPLOAD_BY_FRAMING = {
    "content-length": b"Content-Length: 1000000\r\n\r\n" + b"x" * 1000,
    "chunked": b"Transfer-Encoding: chunked\r\n\r\n3e8\r\n" + b"x" * 1000 + b"\r\n",
}
# aiohttp either cancels the handler of a client that disconnected or lets it run on (the
# default of a plain AppRunner): the upstream request must be aborted either way.
CANCELLATION = pytest.mark.parametrize(
    "handler_cancellation", [False, True], ids=["handler-runs-on", "handler-cancelled"]
)


@CANCELLATION
@pytest.mark.parametrize("framing", UPLOAD_BY_FRAMING)
async def test_client_leaving_mid_upload_aborts_the_upstream_request(
    aiohttp_server: Any, framing: str, handler_cancellation: bool
) -> None:
    first, aborted, completed = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def upstream(request: web.Request) -> web.Response:
        whole = False
        try:
            async for _ in request.content.iter_any():
                first.set()
            whole = True  # a truncated upload passed off as whole: what must not happen
        except ConnectionError:
            pass
        finally:  # also when the test server cancels this handler
            (completed if whole else aborted).set()
        return web.Response()

    forwarding = Forwarding(loopback((await aiohttp_server(single_route(upstream))).port))
    async with serving(forwarding, handler_cancellation=handler_cancellation) as port:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /upload HTTP/1.1\r\nHost: app\r\n" + UPLOAD_BY_FRAMING[framing])
        await writer.drain()
        await within_deadline(first)
        writer.close()
        await writer.wait_closed()
        await within_deadline(aborted)
    assert not completed.is_set()
    assert forwarding.errors == []  # the client's doing, not the upstream's


async def test_client_going_quiet_mid_upload_is_408_and_aborts_the_upstream(
    aiohttp_server: Any,
) -> None:
    first, aborted = asyncio.Event(), asyncio.Event()

    async def upstream(request: web.Request) -> web.Response:
        try:
            async for _ in request.content.iter_any():
                first.set()
        finally:
            aborted.set()
        return web.Response()

    forwarding = Forwarding(
        loopback((await aiohttp_server(single_route(upstream))).port),
        timeouts=Timeouts(upstream=0.2),
    )
    async with serving(forwarding, handler_cancellation=False) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /upload HTTP/1.1\r\nHost: app\r\n" + UPLOAD_BY_FRAMING["chunked"])
        await writer.drain()  # ... and then nothing more, with the connection left open
        reply = await asyncio.wait_for(reader.readline(), DEADLINE)
        writer.close()
        await within_deadline(aborted)
    assert first.is_set() and reply.startswith(b"HTTP/1.1 408 ")
    assert forwarding.errors == []


@CANCELLATION
async def test_client_leaving_mid_download_stops_the_upstream(
    aiohttp_server: Any, handler_cancellation: bool
) -> None:
    stopped = asyncio.Event()

    async def upstream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            while True:
                await response.write(b"x" * 65536)
        except ConnectionError:
            pass
        finally:  # also when the test server cancels this handler
            stopped.set()
        return response

    forwarding = Forwarding(loopback((await aiohttp_server(single_route(upstream))).port))
    async with (
        serving(forwarding, handler_cancellation=handler_cancellation) as port,
        aiohttp.ClientSession() as session,
    ):
        resp = await session.get(f"http://127.0.0.1:{port}/")
        assert await resp.content.readexactly(65536)
        resp.close()  # drops the connection mid-body
        await within_deadline(stopped)
    assert forwarding.errors == []


async def test_client_leaving_while_upstream_thinks_is_noticed(aiohttp_server: Any) -> None:
    """With handler cancellation on, a client that gives up waiting frees the upstream."""
    arrived, released = asyncio.Event(), asyncio.Event()

    async def upstream(request: web.Request) -> web.Response:
        arrived.set()
        try:
            await asyncio.Event().wait()
        finally:
            released.set()
        return web.Response()

    forwarding = Forwarding(loopback((await aiohttp_server(single_route(upstream))).port))
    async with serving(forwarding, handler_cancellation=True) as port:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /slow HTTP/1.1\r\nHost: app\r\n\r\n")
        await within_deadline(arrived)
        writer.close()
        await writer.wait_closed()
        await within_deadline(released)


# --- memory stays flat: a GiB each way through a separate forwarder process --------------

GIB = 1 << 30
CHUNK = b"\xa5" * (1 << 20)


def memory_kib(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {
        key: int(value)
        for key, value in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE)
    }


def sink_and_source() -> web.Application:
    async def sink(request: web.Request) -> web.Response:
        total = 0
        async for chunk in request.content.iter_any():
            total += len(chunk)
        return web.Response(text=str(total))

    async def source(request: web.Request) -> web.StreamResponse:
        size = int(request.query["size"])
        response = web.StreamResponse(headers={"Content-Length": str(size)})
        await response.prepare(request)
        for _ in range(size // len(CHUNK)):
            await response.write(CHUNK)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/sink", sink)
    app.router.add_get("/source", source)
    return app


async def transfer(session: aiohttp.ClientSession, base: str, size: int) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(size // len(CHUNK)):
            yield CHUNK

    async with session.post(f"{base}/sink", data=body()) as resp:
        assert await resp.text() == str(size)
    received = 0
    async with session.get(f"{base}/source", params={"size": str(size)}) as resp:
        async for chunk in resp.content.iter_any():
            received += len(chunk)
    assert received == size


async def start_forwarder(upstream_port: int) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.forwarder",
        str(upstream_port),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 20)
    port = int(line.decode().removeprefix("PORT "))
    return process, f"http://127.0.0.1:{port}"


async def test_a_gib_each_way_keeps_the_forwarder_memory_flat(aiohttp_server: Any) -> None:
    upstream = await aiohttp_server(sink_and_source())
    process, base = await start_forwarder(upstream.port)
    try:
        async with aiohttp.ClientSession() as session:
            await transfer(session, base, 8 * len(CHUNK))  # warm up: imports, pools, buffers
            before = memory_kib(process.pid)
            started = time.monotonic()
            await transfer(session, base, GIB)
            elapsed = time.monotonic() - started
        after = memory_kib(process.pid)
    finally:
        process.terminate()
        await process.wait()
    # VmHWM is the peak: a forwarder that buffered and then freed would still show here.
    assert after["VmHWM"] - before["VmRSS"] < 50 * 1024, (before, after)
    assert after["VmRSS"] - before["VmRSS"] < 50 * 1024, (before, after)
    assert elapsed < 60, elapsed
