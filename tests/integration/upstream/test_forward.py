"""gateway.upstream.forward against real servers on 127.0.0.1: what the upstream receives, what the
client gets back, how upstream failures surface, and WebSocket relaying."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from gateway.config import Timeouts, Upstream
from gateway.upstream.forward import (
    forward_http,
    is_websocket_upgrade,
)
from gateway.upstream.hopbyhop import HOP_BY_HOP, end_to_end
from gateway.upstream.pool import UpstreamPool
from tests.integration.forwarder import (
    Forwarding,
    RawUpstream,
    Through,
    loopback,
    serving,
)
from tests.support import free_port

DEADLINE = 5.0  # seconds: generous bound for things that should happen at once
NO_AUTO = ("User-Agent", "Accept", "Accept-Encoding")  # the test client adds none of these


def recording_app(
    seen: list[web.Request],
    answer: Callable[[], web.StreamResponse] = lambda: web.Response(text="ok"),
) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        await request.read()
        return answer()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


# --- hop-by-hop headers ------------------------------------------------------------------

STRIP_CASES = [
    pytest.param(
        [
            ("Connection", "keep-alive"),
            ("Keep-Alive", "timeout=5"),
            ("TE", "trailers"),
            ("Trailer", "X-Sum"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "h2c"),
            ("Proxy-Connection", "keep-alive"),
            ("HTTP2-Settings", "AAA"),
            ("X-Keep", "1"),
        ],
        [("X-Keep", "1")],
        id="standard",
    ),
    pytest.param(
        [("Connection", "close, X-Secret"), ("X-Secret", "1"), ("X-Keep", "1")],
        [("X-Keep", "1")],
        id="named-in-connection",
    ),
    pytest.param(
        [
            ("connection", " x-a ,X-B"),
            ("CONNECTION", "x-C"),
            ("X-A", "1"),
            ("x-b", "2"),
            ("X-c", "3"),
            ("X-Keep", "1"),
        ],
        [("X-Keep", "1")],
        id="several-connection-headers-any-case",
    ),
    pytest.param(
        [("Proxy-Authorization", "Basic eA=="), ("Proxy-Foo", "1"), ("X-Keep", "1")],
        [("X-Keep", "1")],
        id="proxy-leftovers",
    ),
    pytest.param(
        [
            ("Cookie", "a=1"),
            ("Authorization", "Bearer t"),
            ("Content-Length", "3"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT"),
        ],
        [
            ("Cookie", "a=1"),
            ("Authorization", "Bearer t"),
            ("Content-Length", "3"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT"),
        ],
        id="end-to-end-kept",
    ),
    pytest.param(
        [("Connection", " , ,"), ("X-Keep", "1")], [("X-Keep", "1")], id="empty-connection-tokens"
    ),
    pytest.param(
        [("Connection", "Host, X-A"), ("Host", "app.example.com"), ("X-A", "1")],
        [("Host", "app.example.com")],
        id="host-cannot-be-named",
    ),
]


@pytest.mark.parametrize(("given", "kept"), STRIP_CASES)
def test_end_to_end_drops_hop_by_hop_headers(
    given: list[tuple[str, str]], kept: list[tuple[str, str]]
) -> None:
    answer = CIMultiDictProxy(CIMultiDict(given))
    assert list(end_to_end(answer).items()) == kept
    assert list(answer.items()) == given  # a copy: the upstream's answer is left as read


def test_hop_by_hop_names_are_lower_case() -> None:
    assert {name.lower() for name in HOP_BY_HOP} == HOP_BY_HOP
    assert "transfer-encoding" in HOP_BY_HOP


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        pytest.param("GET", {"Connection": "Upgrade", "Upgrade": "websocket"}, True, id="plain"),
        pytest.param(
            "GET",
            {"Connection": "keep-alive, Upgrade", "Upgrade": "WebSocket"},
            True,
            id="token-list-any-case",
        ),
        pytest.param("POST", {"Connection": "Upgrade", "Upgrade": "websocket"}, False, id="post"),
        pytest.param("GET", {"Connection": "Upgrade", "Upgrade": "h2c"}, False, id="other-upgrade"),
        pytest.param("GET", {"Upgrade": "websocket"}, False, id="no-connection-upgrade"),
    ],
)
def test_is_websocket_upgrade(method: str, headers: dict[str, str], expected: bool) -> None:
    request = make_mocked_request(method, "/ws", headers=headers)
    assert is_websocket_upgrade(request) is expected


# --- what the upstream receives ----------------------------------------------------------


async def test_request_headers_reach_upstream_without_hop_by_hop(through: Through) -> None:
    seen: list[web.Request] = []
    client, _ = await through(recording_app(seen))
    sent = [
        ("Host", "app.example.com"),
        ("Cookie", "a=1; b=2"),
        ("X-Custom", "one"),
        ("X-Custom", "two"),
        ("Connection", "keep-alive, X-Hop"),
        ("X-Hop", "secret"),
        ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"),
        ("Proxy-Authorization", "Basic x"),
    ]
    async with client.get("/", headers=CIMultiDict(sent), skip_auto_headers=NO_AUTO) as resp:
        assert resp.status == 200
    received = seen[0].headers
    assert received["Host"] == "app.example.com"
    assert received["Cookie"] == "a=1; b=2"
    assert received.getall("X-Custom") == ["one", "two"]
    for name in ("X-Hop", "Keep-Alive", "TE", "Proxy-Authorization"):
        assert name not in received
    # aiohttp invents none of its defaults when the client sent none.
    for name in ("User-Agent", "Accept", "Accept-Encoding", "Content-Type"):
        assert name not in received


async def test_target_is_sent_verbatim(through: Through) -> None:
    seen: list[web.Request] = []
    client, _ = await through(recording_app(seen))
    target = "/a/%2F//b;p=1/%7Euser?x=%20y&z=1&z=2&q=a+b&e="
    url = URL(f"http://127.0.0.1:{client.port}{target}", encoded=True)
    async with client.session.get(url) as resp:
        assert resp.status == 200
    assert seen[0].raw_path == target


@pytest.mark.parametrize("target", ["a/b", "/a b", "/a\r\nX-Injected: 1", "/a\x00", "/a\x7f"])
async def test_target_that_could_split_the_request_line_is_refused(target: str) -> None:
    pool = UpstreamPool(Timeouts())
    try:
        with pytest.raises(ValueError):
            await forward_http(
                make_mocked_request("GET", "/"),
                pool,
                Upstream("http", "127.0.0.1", free_port()),
                path_qs=target,
                headers=CIMultiDict(),
            )
    finally:
        await pool.close()


async def test_no_cookie_jar_between_clients(through: Through) -> None:
    seen: list[web.Request] = []

    def answer() -> web.Response:
        response = web.Response(text="ok")
        response.set_cookie("session", "alice-secret")
        return response

    client, _ = await through(recording_app(seen, answer))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as browser:
        async with browser.get(client.make_url("/login")) as resp:
            assert "alice-secret" in resp.headers["Set-Cookie"]
        async with browser.get(client.make_url("/next")) as resp:
            assert resp.status == 200
    # The upstream's cookie went to the client only, never into a jar the next request uses.
    assert "Cookie" not in seen[1].headers


async def test_keep_alive_connection_is_reused(through: Through) -> None:
    peers: list[object] = []

    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", handler)
    client, _ = await through(app)
    for _ in range(3):
        async with client.get("/") as resp:
            assert await resp.text() == "ok"
    assert len(peers) == 3 and len(set(peers)) == 1


@pytest.mark.parametrize("framing", ["content-length", "chunked", "empty-post"])
async def test_request_body_framing_is_kept(through: Through, framing: str) -> None:
    seen: list[tuple[CIMultiDict[str], bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((CIMultiDict(request.headers), await request.read()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/", handler)
    client, _ = await through(app)
    payload = b"x" * 100_000

    async def chunks() -> AsyncIterator[bytes]:
        yield payload[:50_000]
        yield payload[50_000:]

    data: Any = {"content-length": payload, "chunked": chunks(), "empty-post": None}[framing]
    async with client.post("/", data=data, headers={"Content-Type": "text/csv"}) as resp:
        assert resp.status == 200
    headers, body = seen[0]
    assert headers["Content-Type"] == "text/csv"
    if framing == "chunked":
        assert headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in headers
        assert body == payload
    elif framing == "content-length":
        assert headers["Content-Length"] == "100000" and "Transfer-Encoding" not in headers
        assert body == payload
    else:
        assert headers.get("Content-Length", "0") == "0" and body == b""


async def test_expect_continue_is_answered_by_the_gateway(through: Through) -> None:
    seen: list[tuple[CIMultiDict[str], bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((CIMultiDict(request.headers), await request.read()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_put("/", handler)
    client, _ = await through(app)
    async with client.put("/", data=b"body", expect100=True) as resp:
        assert resp.status == 200
    assert "Expect" not in seen[0][0] and seen[0][1] == b"body"


# --- what the client gets back -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (200, "OK"),
        (201, "Created"),
        (302, "Found"),
        (404, "Not Found"),
        (418, "Short And Stout"),
        (503, "Service Unavailable"),
    ],
)
async def test_status_and_reason_pass_through(through: Through, status: int, reason: str) -> None:
    client, _ = await through(
        recording_app(
            [],
            lambda: web.Response(
                status=status, reason=reason, text="body", headers={"Location": "/elsewhere"}
            ),
        )
    )
    async with client.get("/", allow_redirects=False) as resp:
        assert (resp.status, resp.reason) == (status, reason)
        assert resp.headers["Location"] == "/elsewhere"  # a redirect is the client's business
        assert await resp.text() == "body"


async def test_set_cookie_headers_stay_separate(through: Through) -> None:
    cookies = [
        "a=1; Path=/",
        "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT; HttpOnly",
        "c=3; Domain=example.com; Secure",
    ]
    client, _ = await through(
        recording_app(
            [],
            lambda: web.Response(
                text="ok", headers=CIMultiDict(("Set-Cookie", c) for c in cookies)
            ),
        )
    )
    async with client.get("/") as resp:
        # before_send appends the gateway's own after the app's.
        assert resp.headers.getall("Set-Cookie") == [*cookies, "gw=1; Path=/"]
        assert resp.headers["Cache-Control"] == "private, no-store"


async def test_head_keeps_content_length_and_sends_no_body(through: Through) -> None:
    client, _ = await through(recording_app([], lambda: web.Response(body=b"x" * 1234)))
    async with client.head("/") as resp:
        assert resp.headers["Content-Length"] == "1234"
        assert await resp.read() == b""
    async with client.get("/") as resp:  # the connection is still in step after the HEAD
        assert await resp.read() == b"x" * 1234


@pytest.mark.parametrize("status", [204, 304])
async def test_empty_statuses_have_no_body(through: Through, status: int) -> None:
    client, _ = await through(
        recording_app([], lambda: web.Response(status=status, headers={"ETag": '"v1"'}))
    )
    async with client.get("/") as resp:
        assert resp.status == status and resp.headers["ETag"] == '"v1"'
        assert "Transfer-Encoding" not in resp.headers
        assert await resp.read() == b""
    async with client.get("/") as resp:
        assert resp.status == status


async def test_compressed_body_passes_untouched(through: Through) -> None:
    seen: list[web.Request] = []
    packed = gzip.compress(b"hello " * 1000)
    client, _ = await through(
        recording_app(
            seen,
            lambda: web.Response(
                body=packed, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"}
            ),
        )
    )
    async with client.get("/", headers={"Accept-Encoding": "gzip"}, auto_decompress=False) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["Content-Length"] == str(len(packed))
        assert await resp.read() == packed
    assert seen[0].headers["Accept-Encoding"] == "gzip"


async def test_upstream_headers_are_not_added_to(through: Through, raw: RawUpstream) -> None:
    async def bare(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
            b"Connection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
            b"Proxy-Authenticate: Basic\r\nX-Kept: yes\r\n\r\nhi"
        )
        await writer.drain()

    client, _ = await through(await raw.start(bare))
    async with client.get("/") as resp:
        assert await resp.read() == b"hi"
        assert resp.headers["X-Kept"] == "yes"
        # No Content-Type / Server invented, no hop-by-hop header of the upstream's passed on.
        for name in ("Content-Type", "Server", "X-Hop", "Keep-Alive", "Proxy-Authenticate"):
            assert name not in resp.headers
        assert resp.headers.get("Connection", "keep-alive") == "keep-alive"


# --- upstream failures before the response -----------------------------------------------


async def test_refused_connection_is_502(through: Through) -> None:
    client, forwarding = await through(free_port())
    async with client.get("/page?token=s3cr3t") as resp:
        assert resp.status == 502
    (error,) = forwarding.errors
    assert error.reason == "connect" and error.upstream == forwarding.upstream
    assert "s3cr3t" not in str(error) and "/page" not in str(error)


async def _close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")


async def _half_status_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 20")
    await writer.drain()


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
    await writer.drain()


@pytest.mark.parametrize(
    "answer",
    [_close_at_once, _half_status_line, _not_http],
    ids=["closed", "half-status-line", "not-http"],
)
async def test_reset_before_headers_is_502(through: Through, raw: RawUpstream, answer: Any) -> None:
    client, forwarding = await through(await raw.start(answer))
    async with client.post("/?token=s3cr3t", data=b"x") as resp:
        assert resp.status == 502
    (error,) = forwarding.errors
    assert error.reason == "reset" and "s3cr3t" not in str(error)


async def test_slow_upstream_is_504(through: Through) -> None:
    never = asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    app = web.Application()
    app.router.add_get("/", stuck)
    client, forwarding = await through(app, timeouts=Timeouts(upstream=0.2))
    started = time.monotonic()
    async with client.get("/") as resp:
        assert resp.status == 504
    assert time.monotonic() - started < DEADLINE
    assert [e.reason for e in forwarding.errors] == ["timeout"]
    never.set()


# --- WebSockets --------------------------------------------------------------------------


class WsUpstream:
    """An upstream WebSocket endpoint that echoes and records what it saw."""

    def __init__(self, protocols: tuple[str, ...] = ()) -> None:
        self.protocols = protocols
        self.received: list[tuple[WSMsgType, Any]] = []
        self.handshakes: list[CIMultiDict[str]] = []
        self.close_code: int | None = None
        self.closed = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ws", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        self.handshakes.append(CIMultiDict(request.headers))
        ws = web.WebSocketResponse(protocols=self.protocols)
        await ws.prepare(request)
        async for message in ws:
            self.received.append((message.type, message.data))
            if message.type is WSMsgType.TEXT and message.data.startswith("close:"):
                await ws.close(code=int(message.data[6:]), message=b"upstream says bye")
            elif message.type is WSMsgType.TEXT and message.data == "die":
                assert request.transport is not None
                request.transport.abort()
            elif message.type is WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type is WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        self.close_code = ws.close_code
        self.closed.set()
        return ws


async def receive(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
    return await asyncio.wait_for(ws.receive(), DEADLINE)


async def test_websocket_relays_text_and_binary(through: Through) -> None:
    upstream = WsUpstream()
    client, _ = await through(upstream.app())
    async with client.ws_connect("/ws", headers={"Cookie": "a=1"}) as ws:
        await ws.send_str("héllo")
        assert (await receive(ws)).data == "héllo"
        await ws.send_bytes(b"\x00\xff" * 1000)
        assert (await receive(ws)).data == b"\x00\xff" * 1000
    handshake = upstream.handshakes[0]
    assert handshake["Cookie"] == "a=1" and handshake["Upgrade"].lower() == "websocket"


async def test_websocket_handshake_response_carries_before_send(through: Through) -> None:
    client, _ = await through(WsUpstream().app())
    async with client.session.get(
        client.make_url("/ws"),
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    ) as resp:
        assert resp.status == 101
        assert resp.headers["Sec-WebSocket-Accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        assert resp.headers.getall("Set-Cookie") == ["gw=1; Path=/"]


async def test_websocket_ping_is_answered_by_the_upstream(through: Through) -> None:
    client, _ = await through(WsUpstream().app())
    async with client.ws_connect("/ws", autoping=False) as ws:
        await ws.ping(b"are you there")
        message = await receive(ws)
        assert (message.type, message.data) == (WSMsgType.PONG, b"are you there")


async def test_websocket_client_close_code_reaches_upstream(through: Through) -> None:
    upstream = WsUpstream()
    client, _ = await through(upstream.app())
    ws = await client.ws_connect("/ws")
    await ws.send_str("hi")
    assert (await receive(ws)).data == "hi"
    await ws.close(code=4001, message=b"client says bye")
    await asyncio.wait_for(upstream.closed.wait(), DEADLINE)
    assert upstream.close_code == 4001
    assert ws.close_code == 4001


async def test_websocket_upstream_close_code_reaches_client(through: Through) -> None:
    client, _ = await through(WsUpstream().app())
    async with client.ws_connect("/ws") as ws:
        await ws.send_str("close:4002")
        message = await receive(ws)
        assert (message.type, message.data, message.extra) == (
            WSMsgType.CLOSE,
            4002,
            "upstream says bye",
        )


@pytest.mark.parametrize(
    "handler_cancellation", [False, True], ids=["handler-runs-on", "handler-cancelled"]
)
async def test_websocket_client_vanishing_closes_upstream_with_1001(
    aiohttp_server: Any, handler_cancellation: bool
) -> None:
    upstream = WsUpstream()
    forwarding = Forwarding(loopback((await aiohttp_server(upstream.app())).port))
    async with (
        serving(forwarding, handler_cancellation=handler_cancellation) as port,
        aiohttp.ClientSession() as session,
    ):
        ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws")
        await ws.send_str("hi")
        assert (await receive(ws)).data == "hi"
        ws._response.connection.transport.abort()  # type: ignore[union-attr]  # no close frame
        await asyncio.wait_for(upstream.closed.wait(), DEADLINE)
        await ws.close()
    assert upstream.close_code == 1001


async def test_websocket_client_leaving_during_the_upstream_handshake(aiohttp_server: Any) -> None:
    arrived, release = asyncio.Event(), asyncio.Event()
    upstream = WsUpstream()

    async def slow_handshake(request: web.Request) -> web.WebSocketResponse:
        arrived.set()
        await release.wait()
        return await upstream.handle(request)

    app = web.Application()
    app.router.add_get("/ws", slow_handshake)
    forwarding = Forwarding(loopback((await aiohttp_server(app)).port))
    async with serving(forwarding, handler_cancellation=False) as port:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /ws HTTP/1.1\r\nHost: app\r\nConnection: Upgrade\r\n"
            b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        await asyncio.wait_for(arrived.wait(), DEADLINE)
        writer.transport.abort()
        release.set()
        await asyncio.wait_for(upstream.closed.wait(), DEADLINE)
    assert upstream.close_code == 1001


async def test_websocket_upstream_dying_closes_client_with_1014(through: Through) -> None:
    client, _ = await through(WsUpstream().app())
    async with client.ws_connect("/ws") as ws:
        await ws.send_str("die")
        message = await receive(ws)
        assert (message.type, message.data) == (WSMsgType.CLOSE, 1014)


@pytest.mark.parametrize(
    ("offered", "supported", "chosen"),
    [
        pytest.param(("chat.v2", "chat.v1"), ("chat.v1",), "chat.v1", id="upstream-picks"),
        pytest.param(("chat.v2",), ("chat.v1",), None, id="no-overlap"),
        pytest.param((), ("chat.v1",), None, id="none-offered"),
    ],
)
async def test_websocket_subprotocol_is_negotiated_by_the_upstream(
    through: Through, offered: tuple[str, ...], supported: tuple[str, ...], chosen: str | None
) -> None:
    upstream = WsUpstream(protocols=supported)
    client, _ = await through(upstream.app())
    async with client.ws_connect("/ws", protocols=offered) as ws:
        assert ws.protocol == chosen
        await ws.send_str("x")
        assert (await receive(ws)).data == "x"
    assert upstream.handshakes[0].get("Sec-WebSocket-Protocol") == (
        ",".join(offered) if offered else None
    )


async def test_malformed_websocket_handshake_is_400_without_upstream(through: Through) -> None:
    upstream = WsUpstream()
    client, _ = await through(upstream.app())
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
    async with client.get("/ws", headers=headers) as resp:  # no Sec-WebSocket-Key
        assert resp.status == 400
    assert upstream.handshakes == []


async def test_websocket_refused_upstream_is_502_before_accepting(through: Through) -> None:
    client, forwarding = await through(free_port())
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await client.ws_connect("/ws")
    assert caught.value.status == 502
    assert [e.reason for e in forwarding.errors] == ["connect"]


async def test_websocket_rejected_handshake_is_502(through: Through) -> None:
    client, forwarding = await through(recording_app([], lambda: web.Response(status=403)))
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await client.ws_connect("/ws")
    assert caught.value.status == 502
    assert [e.reason for e in forwarding.errors] == ["reset"]
    assert "403" in str(forwarding.errors[0])


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_websocket_closes_with_1008_when_the_session_expires(through: Through) -> None:
    clock, upstream = FakeClock(1000.0), WsUpstream()
    client, _ = await through(upstream.app(), close_at=1060.0, clock=clock)
    async with client.ws_connect("/ws") as ws:
        await ws.send_str("before")
        assert (await receive(ws)).data == "before"
        clock.now = 1060.0
        await ws.send_str("after")
        message = await receive(ws)
        assert (message.type, message.data, message.extra) == (
            WSMsgType.CLOSE,
            1008,
            "session expired",
        )
    await asyncio.wait_for(upstream.closed.wait(), DEADLINE)
    assert upstream.close_code == 1008
    assert (WSMsgType.TEXT, "after") not in upstream.received


async def test_websocket_already_expired_closes_at_once(through: Through) -> None:
    client, _ = await through(WsUpstream().app(), close_at=1000.0, clock=FakeClock(1000.5))
    async with client.ws_connect("/ws") as ws:
        message = await receive(ws)
        assert (message.type, message.data) == (WSMsgType.CLOSE, 1008)


async def test_websocket_idle_connection_expires_on_time(through: Through) -> None:
    upstream = WsUpstream()
    client, _ = await through(upstream.app(), close_at=time.time() + 0.2)
    async with client.ws_connect("/ws") as ws:
        message = await receive(ws)  # nothing sent: only the timer can close it
        assert (message.type, message.data) == (WSMsgType.CLOSE, 1008)
    await asyncio.wait_for(upstream.closed.wait(), DEADLINE)
    assert upstream.close_code == 1008
