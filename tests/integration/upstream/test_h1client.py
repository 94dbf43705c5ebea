"""gateway.upstream.h1client against real servers on 127.0.0.1: keep-alive reuse and when not to,
stale connections, body framing both ways, early answers, failures and read timeouts.

h1client drives aiohttp internals (ResponseHandler, StreamWriter): these tests fail first if
those change. Idle connections are aged by moving their ``idle_since``, never by sleeping.
"""

from __future__ import annotations

import asyncio
import socket
import time
from asyncio import StreamReader as Reader
from asyncio import StreamWriter as Writer
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import ClientOSError, ServerDisconnectedError, web
from multidict import CIMultiDict

from gateway.config import Upstream
from gateway.upstream.failures import upstream_error
from gateway.upstream.h1client import Answer, ConnectFailed, Connections
from tests.integration.forwarder import RawHandler, RawUpstream, Through

DEADLINE = 5.0  # seconds: generous bound for things that should happen at once
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
Connect = Callable[..., Connections]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """``connect(port, read_timeout=...)``: Connections to loopback, closed after the test."""
    made: list[Connections] = []

    def make(port: int, read_timeout: float = DEADLINE) -> Connections:
        made.append(
            Connections(
                Upstream("http", "127.0.0.1", port),
                connect_timeout=DEADLINE,
                read_timeout=read_timeout,
                keepalive=4.0,
                max_field_size=65536,
            )
        )
        return made[-1]

    yield make
    for conns in made:
        await conns.close()


async def read_all(answer: Answer) -> bytes:
    parts = []
    while chunk := await answer.content.readany():
        parts.append(chunk)
    return b"".join(parts)


async def fetch(
    conns: Connections,
    method: str = "GET",
    target: str = "/",
    body: AsyncIterator[bytes] | None = None,
    **extra: str,
) -> tuple[Answer, bytes]:
    """One exchange, its answer read to the end and released."""
    headers = CIMultiDict({"Host": conns.upstream.label, **extra})
    async with asyncio.timeout(DEADLINE):
        answer = await conns.request(method, target, headers, body)
        data = await read_all(answer)
    answer.release()
    return answer, data


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_request(reader: Reader, *, body: bool = True) -> bytes:
    """A request's head (and its Content-Length body); b"" once the client has closed."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return b""
    for line in head.lower().split(b"\r\n"):
        if body and line.startswith(b"content-length:"):
            await reader.readexactly(int(line.partition(b":")[2]))
    return head


def app(
    peers: list[int],
    seen: list[tuple[CIMultiDict[str], bytes]] | None = None,
) -> web.Application:
    """Records each request's peer port; /close answers Connection: close, /big 1 MiB."""

    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername")[1])
        body = await request.read()
        if seen is not None:
            seen.append((CIMultiDict(request.headers), body))
        response = web.Response(body=b"x" * (1 << 20) if request.path == "/big" else b"ok")
        if request.path == "/close":
            response.force_close()
        return response

    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", handler)
    return application


# --- keep-alive --------------------------------------------------------------------------


async def test_connection_is_reused_until_the_upstream_says_close(
    aiohttp_server: Any, connect: Connect
) -> None:
    peers: list[int] = []
    conns = connect((await aiohttp_server(app(peers))).port)
    for target in ("/", "/", "/close", "/"):
        answer, data = await fetch(conns, target=target)
        assert (answer.status, data) == (200, b"ok")
    assert peers[0] == peers[1] == peers[2] != peers[3] and len(conns._idle) == 1


async def test_idle_connection_closed_by_the_upstream_is_not_used(
    raw: RawUpstream, connect: Connect
) -> None:
    peers: list[int] = []
    drop = asyncio.Event()

    async def once(reader: Reader, writer: Writer) -> None:
        peers.append(writer.get_extra_info("peername")[1])
        await read_request(reader)
        writer.write(OK)
        await drop.wait()  # then close: the pooled connection goes stale

    conns = connect(await raw.start(once))
    await fetch(conns)
    (idle,) = conns._idle
    drop.set()
    if (closed := idle.protocol.closed) is not None:  # None: its FIN is already in
        await closed
    answer, data = await fetch(conns, "POST", body=chunks(b"abc"), **{"Content-Length": "3"})
    assert (answer.status, data) == (200, b"ok") and len(set(peers)) == 2


def stale_once(peers: list[int]) -> RawHandler:
    """The first two connections answer one request each and close on the next one
    unanswered (a keep-alive race lost); later ones close on their first request."""

    async def handler(reader: Reader, writer: Writer) -> None:
        peers.append(writer.get_extra_info("peername")[1])
        if len(peers) <= 2 and await read_request(reader):
            writer.write(OK)
        await read_request(reader)

    return handler


async def test_connection_closed_under_a_request_retries_get_once_never_post(
    raw: RawUpstream, connect: Connect
) -> None:
    peers: list[int] = []
    conns = connect(await raw.start(stale_once(peers)))
    await fetch(conns)
    answer, data = await fetch(conns)  # reused, dropped, sent again on a new connection
    assert (answer.status, data) == (200, b"ok") and len(peers) == 2
    with pytest.raises((ServerDisconnectedError, ClientOSError)) as caught:
        await fetch(conns, "POST", body=chunks(b"abc"), **{"Content-Length": "3"})
    assert len(peers) == 2  # not sent again: its body is gone
    error = upstream_error(caught.value, conns.upstream)
    assert error is not None and error.reason == "reset"
    with pytest.raises(ServerDisconnectedError):
        await fetch(conns)  # a new connection failing is not a stale one: no retry
    assert len(peers) == 3


async def test_client_sees_get_retried_and_post_fail(through: Through, raw: RawUpstream) -> None:
    peers: list[int] = []
    client, forwarding = await through(await raw.start(stale_once(peers)))
    for _ in range(2):
        async with client.get("/") as resp:
            assert (resp.status, await resp.text()) == (200, "ok")
    async with client.post("/", data=b"abc") as resp:
        assert (resp.status, await resp.text()) == (502, "reset")
    assert len(peers) == 2 and [e.reason for e in forwarding.errors] == ["reset"]


async def test_idle_connection_past_keepalive_is_closed_not_reused(
    aiohttp_server: Any, connect: Connect
) -> None:
    peers: list[int] = []
    conns = connect((await aiohttp_server(app(peers))).port)
    await fetch(conns)
    (old,) = conns._idle
    old.idle_since -= 4.5  # keepalive is 4 s
    await fetch(conns)
    assert peers[0] != peers[1] and not old.protocol.is_connected() and old not in conns._idle


@pytest.mark.parametrize("end", ["close", "release"])
async def test_half_read_answer_is_not_pooled(
    aiohttp_server: Any, connect: Connect, end: str
) -> None:
    peers: list[int] = []
    conns = connect((await aiohttp_server(app(peers))).port)
    answer = await conns.request("GET", "/big", CIMultiDict({"Host": "x"}), None)
    assert await answer.content.readany()
    answer.close() if end == "close" else answer.release()
    assert conns._idle == [] and not answer._conn.protocol.is_connected()
    await fetch(conns)
    assert peers[0] != peers[1]


# --- answer framing ----------------------------------------------------------------------


async def test_head_204_and_304_have_no_body(raw: RawUpstream, connect: Connect) -> None:
    peers: list[int] = []
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",  # to HEAD
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        OK,
    ]

    async def handler(reader: Reader, writer: Writer) -> None:
        peers.append(writer.get_extra_info("peername")[1])
        for answer in answers:
            await read_request(reader)
            writer.write(answer)
        await read_request(reader)

    conns = connect(await raw.start(handler))
    got = [await fetch(conns, method) for method in ("HEAD", "GET", "GET", "GET")]
    # One connection, so no answer took bytes for a body (the next would have hung).
    assert [(answer.status, data) for answer, data in got] == [
        (200, b""),
        (204, b""),
        (304, b""),
        (200, b"ok"),
    ]
    assert got[0][0].headers["Content-Length"] == "1000" and len(peers) == 1


async def test_answer_without_length_is_read_to_eof_and_not_reused(
    raw: RawUpstream, connect: Connect
) -> None:
    peers: list[int] = []

    async def handler(reader: Reader, writer: Writer) -> None:
        peers.append(writer.get_extra_info("peername")[1])
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil ")
        await writer.drain()
        writer.write(b"the end")  # then the handler returns: the socket closes

    conns = connect(await raw.start(handler))
    for _ in range(2):
        answer, data = await fetch(conns)
        assert (answer.status, data) == (200, b"until the end") and conns._idle == []
    assert len(set(peers)) == 2


async def test_interim_1xx_answers_are_skipped(raw: RawUpstream, connect: Connect) -> None:
    async def hints(reader: Reader, writer: Writer) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
            b"Link: </app.css>; rel=preload\r\n\r\n" + OK
        )
        await read_request(reader)

    answer, data = await fetch(connect(await raw.start(hints)))
    assert (answer.status, data) == (200, b"ok")  # RFC 9110 15.2: a client skips 1xx


# --- request bodies ----------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
async def test_request_body_arrives_whole_with_its_framing(
    aiohttp_server: Any, connect: Connect, framing: str
) -> None:
    peers: list[int] = []
    seen: list[tuple[CIMultiDict[str], bytes]] = []
    conns = connect((await aiohttp_server(app(peers, seen))).port)
    parts = [b"", *(bytes([65 + i]) * 70_000 for i in range(5)), b""]  # empty: no last chunk
    extra = {"Content-Length": "350000"} if framing == "content-length" else {}
    answer, _ = await fetch(conns, "POST", body=chunks(*parts), **extra)
    headers, body = seen[0]
    assert answer.status == 200 and body == b"".join(parts)
    if framing == "chunked":
        assert headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in headers
    else:
        assert headers["Content-Length"] == "350000" and "Transfer-Encoding" not in headers
    await fetch(conns)
    assert peers[0] == peers[1]  # the body was framed right: the connection stays usable


async def test_early_413_without_reading_the_body(raw: RawUpstream, connect: Connect) -> None:
    async def refuse(reader: Reader, writer: Writer) -> None:
        await read_request(reader, body=False)
        writer.write(
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n"
            b"Connection: close\r\n\r\ntoo big!"
        )
        await writer.drain()  # then close with the body unread: the kernel sends a reset

    conns = connect(await raw.start(refuse))
    async with asyncio.timeout(DEADLINE):
        answer = await conns.request(
            "POST", "/", CIMultiDict({"Host": "x"}), chunks(*[b"x" * 65536] * 256)
        )
        data = await read_all(answer)
    # The answer reaches the client's socket before the reset, and Linux hands queued data
    # over before reporting the reset: the caller gets the 413, not an error.
    assert (answer.status, data) == (413, b"too big!")
    answer.release()  # the body sender may still be running: stopped, the connection closed
    assert conns._idle == [] and not answer._conn.protocol.is_connected()


async def test_body_finished_after_the_answer_leaves_no_timer_on_the_idle_connection(
    raw: RawUpstream, connect: Connect
) -> None:
    heads: list[bytes] = []

    async def early(reader: Reader, writer: Writer) -> None:  # answers, then reads the body
        while head := await read_request(reader, body=False):
            heads.append(head)
            writer.write(OK)
            await reader.readexactly(6 if head.startswith(b"POST") else 0)

    conns, more = connect(await raw.start(early), read_timeout=0.2), asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"abc"
        await more.wait()
        yield b"def"

    answer = await conns.request(
        "POST", "/", CIMultiDict({"Host": "x", "Content-Length": "6"}), slow_body()
    )
    assert await read_all(answer) == b"ok"
    more.set()
    assert answer._sender is not None
    await answer._sender
    answer.release()
    (idle,) = conns._idle
    if (timer := idle.protocol._read_timeout_handle) is not None:  # until it has gone off
        loop = asyncio.get_running_loop()
        loop.call_at(timer.when() + 0.001, (fired := loop.create_future()).set_result, None)
        await fired
    answer, data = await fetch(conns)
    assert (answer.status, data) == (200, b"ok") and len(heads) == 2


# --- failures ----------------------------------------------------------------------------


async def _not_http(reader: Reader, writer: Writer) -> None:
    await read_request(reader)
    writer.write(b"SSH-2.0-OpenSSH_9.6 s3cr3t\r\n\r\n")
    await read_request(reader)


@pytest.mark.parametrize("not_http", [False, True], ids=["refused", "not-http"])
async def test_refused_and_malformed_answers_map_to_their_reason(
    raw: RawUpstream, connect: Connect, not_http: bool
) -> None:
    with socket.socket() as sock:  # bound, then released: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conns = connect(await raw.start(_not_http) if not_http else port)
    with pytest.raises(Exception) as caught:
        await fetch(conns)
    assert isinstance(caught.value, ConnectFailed) == (not not_http)
    error = upstream_error(caught.value, conns.upstream)
    assert error is not None and error.reason == ("reset" if not_http else "connect")
    assert "SSH" not in str(error) and "s3cr3t" not in str(error)  # no byte of the answer


async def test_read_timeout_for_the_answer_and_between_body_chunks(
    raw: RawUpstream, connect: Connect
) -> None:
    async def stall(reader: Reader, writer: Writer) -> None:
        if not (await read_request(reader)).startswith(b"GET /silent "):  # never answered
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf!")
        await reader.read()

    conns, headers = connect(await raw.start(stall), read_timeout=0.1), CIMultiDict(Host="x")
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError) as caught:
        await fetch(conns, target="/silent", Host="x")
    error = upstream_error(caught.value, conns.upstream)
    assert error is not None and error.reason == "timeout"
    async with asyncio.timeout(DEADLINE):
        answer = await conns.request("GET", "/", headers, None)
        assert await answer.content.readany() == b"half!"
        with pytest.raises(asyncio.TimeoutError):
            await answer.content.readany()
    assert time.monotonic() - started >= 0.19  # two read timeouts of 0.1 s
    answer.release()
    assert conns._idle == [] and not answer._conn.protocol.is_connected()


async def test_the_read_deadline_moves_with_each_chunk(raw: RawUpstream, connect: Connect) -> None:
    """Every gap is shorter than the read timeout, the whole answer longer: the connection's
    one timer goes off early, finds the deadline moved, and is re-armed (no timeout)."""
    gap = asyncio.Event()

    async def trickle(reader: Reader, writer: Writer) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
        for byte in b"slow":
            await asyncio.sleep(0.15)  # the upstream's pace is the subject here
            writer.write(bytes((byte,)))
        gap.set()
        await reader.read()

    conns = connect(await raw.start(trickle), read_timeout=0.25)
    started = time.monotonic()
    answer, data = await fetch(conns)
    assert (answer.status, data) == (200, b"slow") and gap.is_set()
    assert time.monotonic() - started > 0.5  # twice the read timeout, and no timeout


# --- closing -----------------------------------------------------------------------------


async def test_close_closes_idle_connections_and_pools_nothing_after(
    raw: RawUpstream, connect: Connect
) -> None:
    eofs: list[asyncio.Event] = []

    async def handler(reader: Reader, writer: Writer) -> None:
        eofs.append(eof := asyncio.Event())
        while await read_request(reader):
            writer.write(OK)
        eof.set()

    conns = connect(await raw.start(handler))
    first = await conns.request("GET", "/", CIMultiDict({"Host": "x"}), None)
    second = await conns.request("GET", "/", CIMultiDict({"Host": "x"}), None)  # a 2nd one
    assert (await read_all(first), await read_all(second)) == (b"ok", b"ok")
    first.release()
    assert len(conns._idle) == 1 and len(eofs) == 2
    await conns.close()
    async with asyncio.timeout(DEADLINE):
        await eofs[0].wait()  # the upstream sees the idle connection end
    assert not eofs[1].is_set()
    second.release()  # after close(): closed, not pooled
    assert conns._idle == []
    async with asyncio.timeout(DEADLINE):
        await eofs[1].wait()
