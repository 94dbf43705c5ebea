"""Live gateways for the hostile suite: each with its recording upstream, served by one event
loop in a background thread and started once per configuration for the whole session.

Tests drive them with blocking sockets (:mod:`tests.support.wire`), which is what lets
hypothesis (synchronous) send hundreds of requests cheaply. The gateway is served as
``gateway run`` serves it (:func:`tests.support.start_gateway`); its clock stands still at
``T0``. Each request carries an ``X-Probe`` id so the test finds exactly what the upstream
received for it (or learns that nothing reached the upstream).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
from collections.abc import Coroutine, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy

from gateway.config import GatewayConfig, load_config_text
from tests.support.clock import T0, FakeClock
from tests.support.harness import ROUTES, SECRET, harness_config_text
from tests.support.serving import RunningGateway, start_gateway
from tests.support.tokens import mint
from tests.support.upstreams import Recorder, upstream_app
from tests.support.wire import (
    DEADLINE,
    Headers,
    RawResponse,
    exchange,
    parse_response,
    request_bytes,
)

T = TypeVar("T")
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
        return mint(
            claims,
            iat=iat,
            max_age=max_age,
            secrets=session.secrets,
            flavor=session.flavor,
            cookie=name or session.cookie,
        )

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


GatewayKey = tuple[str, str, str, tuple[str, ...]]


class LiveLoop:
    """One event loop in a daemon thread serving every live gateway of the session."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.gateways: dict[GatewayKey, LiveGateway] = {}
        self._running: list[RunningGateway] = []
        self._upstreams: list[TestServer] = []

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=30)

    def gateway(
        self,
        flavor: str,
        extra: str = "",
        trusted: str = "10.255.255.0/24",
        routes: Sequence[str] = ROUTES,
    ) -> LiveGateway:
        key = (flavor, extra, trusted, tuple(routes))
        if key not in self.gateways:
            self.gateways[key] = self.run(self._start(*key))
        return self.gateways[key]

    async def _start(
        self, flavor: str, extra: str, trusted: str, routes: tuple[str, ...]
    ) -> LiveGateway:
        recorder = Recorder()
        upstream = TestServer(upstream_app(recorder), host="127.0.0.1")
        await upstream.start_server()
        self._upstreams.append(upstream)
        assert upstream.port is not None
        text = harness_config_text(
            upstream.port,
            flavor=flavor,
            secrets=[SECRET],
            routes=routes,
            trusted=trusted,
            extra=extra,
        )
        config = load_config_text(text, "hostile.yaml", env={})
        running = await start_gateway(config, clock=FakeClock())
        self._running.append(running)
        return LiveGateway(config, running.port, recorder)

    async def _close(self) -> None:
        for gateway in self.gateways.values():
            gateway.recorder.release.set()
        for running in self._running:
            await running.close()
        for upstream in self._upstreams:
            await upstream.close()

    def close(self) -> None:
        self.run(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
