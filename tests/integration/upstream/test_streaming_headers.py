"""A proxied response's headers reach the client as soon as the upstream sent them, before
any of its body exists (a slow stream, server-sent events); when the upstream sent its whole
small body with the headers, the client gets all of it (headers and body go out together)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from tests.integration.forwarder import RawUpstream, Through

DEADLINE = 5.0  # seconds: generous bound for things that should happen at once

# The upstream's head alone, then (once released) the rest of the answer.
HELD_BY_FRAMING = {
    "content-length": (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Up: 1\r\n\r\n", b"body"),
    "chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Up: 1\r\n\r\n",
        b"4\r\nbody\r\n0\r\n\r\n",
    ),
}
# The upstream's whole answer, in one write.
WHOLE_BY_FRAMING = {
    "content-length": (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Up: 1\r\n\r\nhello", b"hello"),
    "chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Up: 1\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"hello",
    ),
    "empty": (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Up: 1\r\n\r\n", b""),
}


@pytest.mark.parametrize("framing", HELD_BY_FRAMING)
async def test_headers_reach_the_client_while_the_upstream_holds_its_body(
    through: Through, raw: RawUpstream, framing: str
) -> None:
    head, rest = HELD_BY_FRAMING[framing]
    release, body_sent = asyncio.Event(), asyncio.Event()

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head)
        await writer.drain()
        await release.wait()
        writer.write(rest)
        await writer.drain()
        body_sent.set()

    client, forwarding = await through(await raw.start(upstream))
    try:
        async with await asyncio.wait_for(client.get("/events"), DEADLINE) as resp:
            # Only the head has left the upstream: a forwarder holding headers for the
            # first body bytes would time out above instead.
            assert not body_sent.is_set()
            assert resp.status == 200
            assert resp.headers["X-Up"] == "1"
            assert resp.headers["Cache-Control"] == "private, no-store"  # before_send ran
            release.set()
            assert await asyncio.wait_for(resp.read(), DEADLINE) == b"body"
    finally:
        release.set()
    assert forwarding.errors == []


async def test_headers_of_an_aiohttp_stream_arrive_before_its_first_chunk(through: Through) -> None:
    release = asyncio.Event()

    async def upstream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)  # a StreamResponse sends its headers here
        await release.wait()
        await response.write(b"data: 1\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/events", upstream)
    client, _ = await through(app)
    try:
        async with await asyncio.wait_for(client.get("/events"), DEADLINE) as resp:
            assert not release.is_set()
            assert (resp.status, resp.headers["Content-Type"]) == (200, "text/event-stream")
            release.set()
            assert await asyncio.wait_for(resp.read(), DEADLINE) == b"data: 1\n\n"
    finally:
        release.set()


@pytest.mark.parametrize("framing", WHOLE_BY_FRAMING)
async def test_a_small_body_sent_with_the_headers_reaches_the_client_whole(
    through: Through, raw: RawUpstream, framing: str
) -> None:
    answer, body = WHOLE_BY_FRAMING[framing]

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        await reader.read()  # keep the connection until the forwarder drops it

    client, forwarding = await through(await raw.start(upstream))
    async with await asyncio.wait_for(client.get("/small"), DEADLINE) as resp:
        assert (resp.status, resp.headers["X-Up"]) == (200, "1")
        assert resp.headers["Set-Cookie"] == "gw=1; Path=/"
        assert await asyncio.wait_for(resp.read(), DEADLINE) == body
    assert forwarding.errors == []
