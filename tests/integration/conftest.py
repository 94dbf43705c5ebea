"""Fixtures for integration tests: a recording upstream and the gateway, both real servers on
127.0.0.1, a real HTTP client, and a clock the test moves by hand."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig, load_config_text
from gateway.serve.handler import build_gateway
from gateway.session.token import SessionCodec
from tests.conftest import GatewayClient

SECRET = "integration-secret-0123456789abcdef-0123456789"
OLD_SECRET = "integration-old-secret-abcdefghijklmnop-012345"
T0 = 1_800_000_000  # a fixed "now" for every test

CONFIG = """
listen: 127.0.0.1:8080
metrics_listen: 127.0.0.1:9091
upstream: http://127.0.0.1:{port}
session:
  flavor: {flavor}
  secrets: {secrets}
  role_claim: role
login: {{url: /login, callback_param: callbackUrl}}
policies:
  admin:   {{max_age: 2h, update_age: 1h, absolute_max_age: 12h}}
  general: {{max_age: 1d, update_age: 6h}}
default_policy: general
routes:
{routes}
identity_headers:
  X-Auth-Request-User: sub
  X-Auth-Request-Email: email
  X-Auth-Request-Role: role
trusted_proxies: [{trusted}]
{extra}
"""


ROUTES = """
  - {name: nextauth, path: /api/auth/, public: true}
  - {name: login,    path: /login,     public: true}
  - {name: admin,    path: /admin/,    roles: [admin]}
  - {name: api,      path: /api/,      unauthenticated: 401}
  - {name: app,      path: /}
"""


class FakeClock:
    """The gateway's clock in tests: moved by the test, never by sleeping."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Recorder:
    """What the upstream received, and what it should answer."""

    requests: list[web.Request] = field(default_factory=list)
    set_cookies: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # /stall waits for it

    @property
    def last(self) -> web.Request:
        return self.requests[-1]


RECORDER = web.AppKey("recorder", Recorder)


def upstream_app(recorder: Recorder) -> web.Application:
    async def echo(request: web.Request) -> web.StreamResponse:
        recorder.requests.append(request)
        if request.path == "/ws":
            return await ws_echo(request)
        if request.path == "/stall":
            await recorder.release.wait()
        body = json.dumps({"path": request.raw_path, "headers": dict(request.headers)})
        response = web.Response(text=body, content_type="application/json")
        for cookie in recorder.set_cookies:
            response.headers.add("Set-Cookie", cookie)
        return response

    # Node (the real apps) accepts 16 KB headers; a chunked session cookie needs it.
    app = web.Application(handler_args={"max_field_size": 16384})
    app[RECORDER] = recorder
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


async def ws_echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            await ws.send_str(message.data)
    return ws


@dataclass
class Harness:
    config: GatewayConfig
    client: TestClient[web.Request, web.Application]
    recorder: Recorder
    clock: FakeClock
    registry: CollectorRegistry

    def token(
        self,
        claims: dict[str, Any],
        *,
        iat: float = T0,
        max_age: int = 86400,
        secret: int = 0,
        name: str | None = None,
    ) -> str:
        session = self.config.session
        codec = SessionCodec(session.flavor, session.secrets[secret:])
        return codec.encode(claims, name or session.cookie, now=int(iat), max_age=max_age)

    def decode(self, token: str, name: str | None = None) -> dict[str, Any]:
        session = self.config.session
        codec = SessionCodec(session.flavor, session.secrets)
        return codec.decode(token, name or session.cookie).claims


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def harness_factory(gateway_client: GatewayClient) -> MakeHarness:
    async def make(
        *,
        flavor: str = "nextauth-v4",
        secrets: tuple[str, ...] = (SECRET,),
        extra: str = "",
        routes: str = ROUTES,
        trusted: str = "10.255.255.0/24",
    ) -> Harness:
        recorder = Recorder()
        upstream = TestServer(upstream_app(recorder), host="127.0.0.1")
        await upstream.start_server()
        text = CONFIG.format(
            port=upstream.port,
            flavor=flavor,
            secrets=json.dumps(list(secrets)),
            extra=extra,
            routes=routes.strip("\n"),
            trusted=trusted,
        )
        config = load_config_text(text, "test.yaml", env={})
        clock, registry = FakeClock(), CollectorRegistry()
        client = await gateway_client(build_gateway(config, registry=registry, clock=clock))
        make.servers.append(upstream)  # type: ignore[attr-defined]
        return Harness(config, client, recorder, clock, registry)

    make.servers = []  # type: ignore[attr-defined]
    yield make  # type: ignore[misc]
    for server in make.servers:  # type: ignore[attr-defined]
        server.app[RECORDER].release.set()
        await server.close()


@pytest.fixture
async def gw(harness_factory: MakeHarness) -> Harness:
    return await harness_factory()
