"""What every proxy example must agree with: the gateway config operators start from
(config/example.yaml), read by the gateway's own loader. The examples hard-code its
addresses, prefix, identity headers and cookie names; these tests keep them in step."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cache

from gateway.config import GatewayConfig, Route, load_config
from gateway.routes import match_route, normalise
from tests.deploy.support import ROOT

EXAMPLE = ROOT / "config/example.yaml"
SECURE_PREFIX = "__Secure-"
# Where a proxy on the same machine reaches a gateway listening on every address.
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


@dataclass(frozen=True)
class Expected:
    gateway: str  # host:port a proxy on the same machine dials
    app: str  # host:port of the app (the default upstream)
    auth_path: str  # {gateway_prefix}/auth
    session_path: str  # {gateway_prefix}/session
    app_session_path: str  # the app's session endpoint (<session.auth_path>/session)
    identity: frozenset[str]  # identity header names
    cookie: str  # the session cookie's base name
    max_chunks: int
    config: GatewayConfig

    def cookie_names(self) -> frozenset[str]:
        """Every name a renewal may write: bare or chunked, plain or __Secure-."""
        bases = (self.cookie, SECURE_PREFIX + self.cookie)
        chunks = [f"{base}.{i}" for base in bases for i in range(self.max_chunks)]
        return frozenset([*bases, *chunks])

    def route_of(self, path: str) -> Route:
        """The example config's route for ``path`` (the gateway's own matching)."""
        route = match_route(self.config.routes, normalise(path))
        assert route is not None, path
        return route

    def trusts(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip in network for network in self.config.trusted_proxies)


@cache
def expected() -> Expected:
    config = load_config(EXAMPLE, env={"NEXTAUTH_SECRET": "s" * 40})
    host = WILDCARDS.get(config.listen.host, config.listen.host)
    prefix = config.gateway_prefix
    return Expected(
        gateway=f"{host}:{config.listen.port}",
        app=config.upstream.label,
        auth_path=f"{prefix}/auth",
        session_path=f"{prefix}/session",
        app_session_path=config.session.session_endpoint,
        identity=frozenset(name for name, _ in config.identity_headers),
        cookie=config.session.cookie,
        max_chunks=config.limits.max_cookie_chunks,
        config=config,
    )
