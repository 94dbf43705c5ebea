"""Fixtures for the adversarial corpus: a real upstream and a real gateway on 127.0.0.1, driven
by the hand-written HTTP/1.1 of :mod:`tests.hostile.wire`.

Three ways to run a gateway:

``live`` (and ``live_public``, ``live_v5``, ``_live_loop.gateway(...)`` for other configs)
    A gateway and upstream served by an event loop in a background thread, started once per
    configuration for the whole session. Tests drive them with blocking sockets, which is what
    lets hypothesis (synchronous) send hundreds of requests cheaply. Its clock stands still at
    ``T0``. Each request carries an ``X-Probe`` id so the test finds exactly what the upstream
    received for it (or learns that nothing reached the upstream).
``harness_factory`` / ``gw``
    The integration harness (function scoped, a FakeClock the test moves), re-exported for
    the renewal and Set-Cookie tests.
``ws_gateway``
    A gateway in front of a WebSocket upstream that records how each socket ended, on a clock
    the test chooses.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDictProxy

from gateway.config import GatewayConfig, load_config_text
from gateway.serve.connections import guarded_runner
from gateway.serve.handler import build_gateway
from gateway.session.token import SessionCodec
from tests.conftest import GatewayClient
from tests.hostile.wire import (
    DEADLINE,
    Headers,
    RawResponse,
    exchange,
    parse_response,
    request_bytes,
)
from tests.integration.conftest import (
    CONFIG,
    ROUTES,
    SECRET,
    T0,
    FakeClock,
    Recorder,
    gw,
    harness_factory,
    upstream_app,
)

__all__ = ["gw", "harness_factory"]  # re-exported fixtures

PUBLIC_URL = "https://app.example.com"
COOKIE_V5 = "authjs.session-token"


@dataclass
class Seen:
    """What the upstream received for one probe."""

    raw_path: str
    headers: CIMultiDictProxy[str]


@dataclass
class LiveGateway:
    """A running gateway and upstream (see the module docstring)."""

    config: GatewayConfig
    port: int
    recorder: Recorder
    _probes: Iterator[int] = field(default_factory=itertools.count)

    def token(
        self,
        claims: dict[str, Any],
        *,
        iat: float = T0,
        max_age: int = 86400,
        name: str | None = None,
    ) -> str:
        session = self.config.session
        codec = SessionCodec(session.flavor, session.secrets)
        return codec.encode(claims, name or session.cookie, now=int(iat), max_age=max_age)

    @property
    def cookie(self) -> str:
        return self.config.session.cookie

    def send(
        self,
        target: str | bytes,
        headers: Headers = (),
        *,
        method: str = "GET",
        body: bytes = b"",
        raw_lines: Sequence[bytes] = (),
        framed: bool = True,
    ) -> tuple[RawResponse, Seen | None]:
        """One request with a fresh probe id; the answer and what the upstream got, if any.
        A body gets its Content-Length unless ``framed`` is False (the caller frames it)."""
        probe = str(next(self._probes))
        host = [] if any(name.lower() == "host" for name, _ in headers) else [("Host", "gw.test")]
        all_headers = [*host, *headers, ("X-Probe", probe), ("Connection", "close")]
        if body and framed:
            all_headers.append(("Content-Length", str(len(body))))
        raw = request_bytes(method, target, all_headers, body, raw_lines)
        response = exchange(self.port, raw)
        return response, self.seen(probe)

    def upgrade(
        self,
        target: str,
        headers: Headers = (),
        *,
        connection: str = "Upgrade",
        raw_lines: Sequence[bytes] = (),
    ) -> tuple[RawResponse, Seen | None]:
        """A WebSocket handshake: the answer's head, and the upstream's view of the upstream
        handshake (the gateway opens that before it answers the client). The socket is then
        dropped, which the gateway must also survive."""
        probe = str(next(self._probes))
        all_headers = [
            ("Host", "gw.test"),
            *headers,
            ("Connection", connection),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("X-Probe", probe),
        ]
        with socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE) as sock:
            sock.sendall(request_bytes("GET", target, all_headers, raw_lines=raw_lines))
            data = b""
            while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
                data += chunk
        return parse_response(data), self.seen(probe)

    def seen(self, probe: str) -> Seen | None:
        for request in reversed(self.recorder.requests):
            if probe in request.headers.getall("X-Probe", ()):
                return Seen(request.raw_path, request.headers)
        return None


class _LiveLoop:
    """One event loop in a daemon thread serving every live gateway of the session."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.gateways: dict[tuple[str, str, str, str], LiveGateway] = {}
        self._cleanups: list[Any] = []

    def run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=30)

    def gateway(
        self, flavor: str, extra: str = "", trusted: str = "10.255.255.0/24", routes: str = ROUTES
    ) -> LiveGateway:
        key = (flavor, extra, trusted, routes)
        if key not in self.gateways:
            self.gateways[key] = self.run(self._start(flavor, extra, trusted, routes))
        return self.gateways[key]

    async def _start(self, flavor: str, extra: str, trusted: str, routes: str) -> LiveGateway:
        recorder = Recorder()
        upstream = TestServer(upstream_app(recorder), host="127.0.0.1")
        await upstream.start_server()
        text = CONFIG.format(
            port=upstream.port,
            flavor=flavor,
            secrets=json.dumps([SECRET]),
            extra=extra,
            routes=routes.strip("\n"),
            trusted=trusted,
        )
        config = load_config_text(text, "hostile.yaml", env={})
        gateway = build_gateway(config, clock=FakeClock())
        runner = guarded_runner(
            gateway.handler,
            header_timeout=config.timeouts.client_header,
            shutdown_timeout=1.0,
            access_log=None,
            **gateway.server_options,
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._cleanups += [runner.cleanup, gateway.close, upstream.close]
        port = runner.addresses[0][1]
        return LiveGateway(config, port, recorder)

    async def _close(self) -> None:
        for server in self._cleanups:
            await server()
        for gateway in self.gateways.values():
            gateway.recorder.release.set()

    def close(self) -> None:
        self.run(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="session")
def _live_loop() -> Iterator[_LiveLoop]:
    live = _LiveLoop()
    yield live
    live.close()


@pytest.fixture(scope="session")
def live(_live_loop: _LiveLoop) -> LiveGateway:
    """The default gateway: nextauth-v4, relative Locations."""
    return _live_loop.gateway("nextauth-v4", "")


@pytest.fixture(scope="session")
def live_public(_live_loop: _LiveLoop) -> LiveGateway:
    """The same gateway with ``public_url`` set: login Locations are absolute."""
    return _live_loop.gateway("nextauth-v4", f"public_url: {PUBLIC_URL}")


@pytest.fixture(scope="session")
def live_v5(_live_loop: _LiveLoop) -> LiveGateway:
    return _live_loop.gateway("authjs-v5", "")


@pytest.fixture
def gateways(live: LiveGateway, live_v5: LiveGateway) -> dict[str, LiveGateway]:
    return {"nextauth-v4": live, "authjs-v5": live_v5}


# --- a gateway in front of a WebSocket upstream that records how each socket ended ----------


@dataclass
class WsUpstream:
    """The upstream's side of every WebSocket: what it received and the close code it got."""

    received: list[str] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        async def echo(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self.received.append(message.data)
                    await ws.send_str(message.data)
            self.close_codes.append(ws.close_code)
            self.closed.set()
            return ws

        app = web.Application()
        app.router.add_get("/ws", echo)
        app.router.add_get("/admin/ws", echo)
        return app


@dataclass
class WsGateway:
    config: GatewayConfig
    client: TestClient[web.Request, web.Application]
    upstream: WsUpstream

    def token(self, claims: dict[str, Any], *, iat: float, max_age: int = 86400) -> str:
        session = self.config.session
        codec = SessionCodec(session.flavor, session.secrets)
        return codec.encode(claims, session.cookie, now=int(iat), max_age=max_age)

    def cookie(self, claims: dict[str, Any], *, iat: float) -> dict[str, str]:
        return {"Cookie": f"{self.config.session.cookie}={self.token(claims, iat=iat)}"}


MakeWsGateway = Callable[[Callable[[], float]], Awaitable[WsGateway]]


@pytest.fixture
async def ws_gateway(gateway_client: GatewayClient, aiohttp_server: Any) -> MakeWsGateway:
    async def make(clock: Callable[[], float]) -> WsGateway:
        upstream = WsUpstream()
        server = await aiohttp_server(upstream.app(), host="127.0.0.1")
        text = CONFIG.format(
            port=server.port,
            flavor="nextauth-v4",
            secrets=json.dumps([SECRET]),
            extra="",
            routes=ROUTES.strip("\n"),
            trusted="10.255.255.0/24",
        )
        config = load_config_text(text, "ws.yaml", env={})
        client = await gateway_client(build_gateway(config, clock=clock))
        return WsGateway(config, client, upstream)

    return make
