"""The integration harness: a recording upstream and a gateway in front of it, both real
servers on 127.0.0.1, an aiohttp ``TestClient`` of the gateway, and a :class:`FakeClock`.

The tests/integration, tests/interop and tests/hostile fixtures make harnesses with
:class:`Harnesses`; they differ only in how the gateway is served (``serve``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import BaseRequest
from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig, load_config_text
from gateway.serve import Gateway
from tests.support.clock import T0, FakeClock
from tests.support.configs import config_text
from tests.support.tokens import claims_of, mint
from tests.support.upstreams import Recorder, upstream_app

SECRET = "integration-secret-0123456789abcdef-0123456789"
OLD_SECRET = "integration-old-secret-abcdefghijklmnop-012345"

ROUTES = (
    "name: nextauth, path: /api/auth/, public: true",
    "name: login,    path: /login,     public: true",
    "name: admin,    path: /admin/,    roles: [admin]",
    "name: api,      path: /api/,      unauthenticated: 401",
    "name: app,      path: /",
)
IDENTITY_HEADERS = """\
identity_headers:
  X-Auth-Request-User: sub
  X-Auth-Request-Email: email
  X-Auth-Request-Role: role
"""


def harness_config_text(
    upstream_port: int,
    *,
    flavor: str = "nextauth-v4",
    secrets: Sequence[str] = (SECRET,),
    routes: Sequence[str] = ROUTES,
    trusted: str = "10.255.255.0/24",
    extra: str = "",
) -> str:
    """The harness's config: the admin and general policies, roles from ``role``, a login
    page at /login, three identity headers, and ``trusted`` as the only trusted proxies."""
    return config_text(
        upstream=f"http://127.0.0.1:{upstream_port}",
        flavor=flavor,
        secrets=secrets,
        session_options={"role_claim": "role"},
        login="url: /login, callback_param: callbackUrl",
        routes=routes,
        extra=f"{IDENTITY_HEADERS}trusted_proxies: [{trusted}]\n{extra}\n",
    )


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
        """A session token as the app writes it, under the harness's secret (``secret``: the
        index of the one to seal with) and cookie name."""
        session = self.config.session
        return mint(
            claims,
            iat=iat,
            max_age=max_age,
            secrets=session.secrets[secret:],
            flavor=session.flavor,
            cookie=name or session.cookie,
        )

    def decode(self, token: str, name: str | None = None) -> dict[str, Any]:
        session = self.config.session
        return claims_of(
            token, secrets=session.secrets, flavor=session.flavor, cookie=name or session.cookie
        )


# How a fixture serves the gateway: the config, its clock and registry in; a client out.
Serve = Callable[[GatewayConfig, FakeClock, CollectorRegistry], Awaitable[TestClient[Any, Any]]]
MakeHarness = Callable[..., Awaitable[Harness]]


@dataclass
class Harnesses:
    """Makes harnesses (``await harnesses(flavor=..., routes=...)``); :meth:`close` after."""

    serve: Serve
    made: list[tuple[Harness, TestServer]] = field(default_factory=list)

    async def __call__(
        self,
        *,
        flavor: str = "nextauth-v4",
        secrets: tuple[str, ...] = (SECRET,),
        extra: str = "",
        routes: Sequence[str] = ROUTES,
        trusted: str = "10.255.255.0/24",
    ) -> Harness:
        recorder = Recorder()
        upstream = TestServer(upstream_app(recorder), host="127.0.0.1")
        await upstream.start_server()
        assert upstream.port is not None
        text = harness_config_text(
            upstream.port,
            flavor=flavor,
            secrets=secrets,
            routes=routes,
            trusted=trusted,
            extra=extra,
        )
        config = load_config_text(text, "test.yaml", env={})
        clock, registry = FakeClock(), CollectorRegistry()
        client = await self.serve(config, clock, registry)
        harness = Harness(config, client, recorder, clock, registry)
        self.made.append((harness, upstream))
        return harness

    async def close(self) -> None:
        """Release every stalled request, close each client (and the gateway server under
        it), then each upstream."""
        for harness, _ in self.made:
            harness.recorder.release.set()
        for harness, upstream in self.made:
            await harness.client.close()
            await upstream.close()


# The gateway_client fixture (tests/conftest.py): a built gateway in, a test client out.
GatewayClient = Callable[[Gateway], Awaitable[TestClient[BaseRequest, None]]]
