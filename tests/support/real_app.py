"""A NextAuth app made of the real packages, behind a real gateway, for tests/interop.

:class:`RealApp` is an aiohttp upstream on 127.0.0.1 that answers every request by running
tests/interop/nextauth-app.mjs once: next-auth 4's own Pages Router handler and
``getServerSession``, or @auth/core's ``Auth`` (what next-auth 5 wraps), with a Credentials
provider, at the test's clock. So every session cookie the app sets is written by the
package itself (its ``encode``, its ``SessionStore.chunk``, its cookie serializer), and the
app reads what the gateway forwards with the package's own ``decode``. Each request is kept
as an :class:`AppTurn`: what the app's jwt callback got from the cookie, and the claims of
the token it wrote.

:func:`start_stack` puts the gateway in front (:func:`tests.support.start_gateway`, the
production server path) with a config whose ``needs`` a test may replace, and a client that
sends exactly the cookies it is given (no jar). :func:`browser_session` is what a browser
holding the answer's cookies has, read back by the package's ``SessionStore`` and
``decode``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.cookies import SimpleCookie
from typing import Any

from aiohttp import ClientSession, ClientTimeout, DummyCookieJar, web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy
from prometheus_client import CollectorRegistry

from gateway.config import Flavor, GatewayConfig, Needs, load_config_text
from tests.support.clock import FakeClock
from tests.support.configs import config_text
from tests.support.harness import IDENTITY_HEADERS
from tests.support.nextauth import INTEROP, SHORT, NextAuth
from tests.support.serving import RunningGateway, start_gateway

APP_CLI = INTEROP / "nextauth-app.mjs"
THIRTY_DAYS = 30 * 86400  # the packages' default session maxAge
# Hop-by-hop or framing headers of the app's answer that aiohttp sets itself.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
SECURE = "__Secure-"


@dataclass(frozen=True)
class AppTurn:
    """One request the app answered."""

    method: str
    path: str
    status: int
    seen: dict[str, Any] | None  # what its jwt callback got from the request's cookie
    written: dict[str, Any] | None  # the claims of the session token it wrote, as written
    set_cookies: tuple[str, ...]  # its answer's Set-Cookie lines, as it wrote them


@dataclass
class RealApp:
    """The app (see the module docstring). ``drop`` and ``user`` may change between
    requests: the jwt callback drops those claims; authorize() signs in as ``user``."""

    node: str
    flavor: Flavor
    secrets: Sequence[str]
    clock: FakeClock
    max_age: int = THIRTY_DAYS
    drop: Sequence[str] = ()
    user: Mapping[str, Any] = field(default_factory=lambda: {"id": "user-7"})
    turns: list[AppTurn] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def last(self) -> AppTurn:
        return self.turns[-1]

    def application(self) -> web.Application:
        # Node accepts 16 KB request headers; a chunked session cookie needs more than 8 KB.
        app = web.Application(handler_args={"max_field_size": 16384})
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    def _args(self) -> list[str]:
        args = [self.node, str(APP_CLI), "app", "--flavor", SHORT[self.flavor]]
        for secret in self.secrets:
            args += ["--secret", secret]
        args += ["--now", str(int(self.clock())), "--max-age", str(self.max_age)]
        for claim in self.drop:
            args += ["--drop", claim]
        return [*args, "--user", json.dumps(dict(self.user))]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        payload = {
            "method": request.method,
            "path": request.raw_path,
            "headers": [[name, value] for name, value in request.headers.items()],
            "body": await request.text(),
        }
        process = await asyncio.create_subprocess_exec(
            *self._args(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(json.dumps(payload).encode()), 60)
        if process.returncode != 0:
            # The package's error class and message only (nextauth-app.mjs never prints tokens).
            self.failures.append(err.decode(errors="replace").strip())
            return web.Response(status=599, text="the app failed")
        answer = json.loads(out)
        lines = tuple(v for k, v in answer["headers"] if k.lower() == "set-cookie")
        turn = AppTurn(
            request.method,
            request.path,
            answer["status"],
            answer["seen"],
            answer["written"],
            lines,
        )
        self.turns.append(turn)
        response = web.Response(status=answer["status"], body=answer["body"].encode())
        for name, value in answer["headers"]:
            if name.lower() not in _FRAMING:
                response.headers.add(name, value)
        return response


@dataclass(frozen=True)
class Answer:
    """The gateway's answer as the browser got it."""

    status: int
    headers: CIMultiDictProxy[str]
    text: str

    @property
    def set_cookies(self) -> list[str]:
        return list(self.headers.getall("Set-Cookie", ()))

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Stack:
    """The real app, the gateway in front of it, a client of the gateway."""

    app: RealApp
    gateway: RunningGateway
    http: ClientSession
    registry: CollectorRegistry
    upstream: TestServer

    @property
    def config(self) -> GatewayConfig:
        return self.gateway.config

    @property
    def clock(self) -> FakeClock:
        return self.app.clock

    async def request(
        self,
        method: str,
        path: str,
        *,
        cookie: str = "",
        https: bool = False,
        headers: Mapping[str, str] | None = None,
        data: str | None = None,
    ) -> Answer:
        """One request as a browser sends it: ``Host: gw.test``, the given Cookie header;
        ``https``: as a TLS-terminating proxy in front says (``X-Forwarded-Proto: https``;
        the stack's gateway trusts 127.0.0.1)."""
        sent = {"Host": "gw.test", "Accept": "application/json", **(headers or {})}
        if cookie:
            sent["Cookie"] = cookie
        if https:
            sent["X-Forwarded-Proto"] = "https"
        async with self.http.request(
            method, self.gateway.url + path, headers=sent, data=data, allow_redirects=False
        ) as response:
            return Answer(response.status, response.headers, await response.text())

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    async def close(self) -> None:
        await self.http.close()
        await self.gateway.close()
        await self.upstream.close()


async def start_stack(
    node: str,
    *,
    flavor: Flavor,
    routes: Sequence[str],
    secrets: Sequence[str],
    app_secrets: Sequence[str] | None = None,
    needs: Needs | None = None,
    session_options: Mapping[str, str] | None = None,
    clock: FakeClock | None = None,
) -> Stack:
    """The app (knowing ``app_secrets``, by default the gateway's ``secrets``), and the
    gateway in front of it: the harness's policies and identity headers, ``routes``, the
    role from ``role``, 127.0.0.1 a trusted proxy, and ``needs`` replacing what the config
    derives (the gateway is built from the replaced config by its own builder)."""
    clock = clock or FakeClock()
    app = RealApp(node, flavor, list(app_secrets or secrets), clock)
    upstream = TestServer(app.application(), host="127.0.0.1")
    await upstream.start_server()
    text = config_text(
        upstream=f"http://127.0.0.1:{upstream.port}",
        flavor=flavor,
        secrets=secrets,
        session_options={"role_claim": "role", **(session_options or {})},
        login="url: /login, callback_param: callbackUrl",
        routes=routes,
        extra=f"{IDENTITY_HEADERS}trusted_proxies: [127.0.0.1/32]\n",
    )
    config = load_config_text(text, "interop.yaml", env={})
    if needs is not None:
        config = replace(config, needs=needs)
    registry = CollectorRegistry()
    gateway = await start_gateway(config, clock=clock, registry=registry)
    http = ClientSession(cookie_jar=DummyCookieJar(), timeout=ClientTimeout(total=60))
    return Stack(app, gateway, http, registry, upstream)


MakeStack = Callable[..., Awaitable[Stack]]  # the tests/interop ``stacks`` fixture


# --- what the browser holds --------------------------------------------------------------------


@dataclass(frozen=True)
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str]

    @property
    def deletes(self) -> bool:
        return not self.value or self.attributes.get("max-age") == "0"

    @property
    def expires(self) -> int | None:
        text = self.attributes.get("expires")
        return None if text is None else int(email.utils.parsedate_to_datetime(text).timestamp())


def parse_set_cookie(line: str) -> SetCookie:
    jar: SimpleCookie = SimpleCookie()
    jar.load(line)
    ((name, morsel),) = jar.items()
    attributes = {key: str(value) for key, value in morsel.items() if value}
    return SetCookie(name, morsel.value, attributes)


def base_name(name: str) -> str:
    head, _, tail = name.rpartition(".")
    return head if tail.isdigit() and head else name


def session_lines(set_cookies: Sequence[str], base: str) -> list[SetCookie]:
    """The answer's Set-Cookie lines of the session family ``base`` (either variant)."""
    plain = base.removeprefix(SECURE)
    family = (plain, SECURE + plain)
    return [c for c in map(parse_set_cookie, set_cookies) if base_name(c.name) in family]


def cookie_header(set_cookies: Sequence[str]) -> str:
    """The Cookie header a browser with an empty jar sends after these Set-Cookie lines."""
    live = [c for c in map(parse_set_cookie, set_cookies) if not c.deletes]
    return "; ".join(f"{c.name}={c.value}" for c in live)


def salt_for(flavor: Flavor, name: str) -> str | None:
    """v4 keys have no salt; v5 salts with the cookie name as set."""
    return name if flavor == "authjs-v5" else None


def browser_session(
    nextauth: NextAuth,
    flavor: Flavor,
    set_cookies: Sequence[str],
    base: str,
    *,
    secrets: Sequence[str],
    now: int,
) -> tuple[str, dict[str, Any]]:
    """The session cookie name and claims the real package reads from the answer's live
    session cookies (its SessionStore joins the chunks, its decode opens the token)."""
    live = [c for c in session_lines(set_cookies, base) if not c.deletes]
    names = {base_name(c.name) for c in live}
    assert len(names) == 1, f"expected one live session cookie name, got {sorted(names)}"
    (name,) = names
    header = "; ".join(f"{c.name}={c.value}" for c in live)
    token = nextauth.read(flavor, name, header)
    claims = nextauth.decode(
        flavor, token, secrets=list(secrets), salt=salt_for(flavor, name), now=now
    )
    return name, claims


# --- the app's routes and users, shared by the tests/interop files that use the stack ----------

# /api/auth/session on its own passive route, as the shipped configs put it; a protected
# passive page (an admin dashboard that polls); no step-up route: nothing needs auth_time
# except the admin policy's hard cap.
PASSIVE_ROUTES = (
    "name: session, path: /api/auth/session, public: true, activity: false",
    "name: nextauth, path: /api/auth/, public: true",
    "name: login, path: /login, public: true",
    "name: watch, path: /admin/watch, roles: [admin], activity: false",
    "name: admin, path: /admin/, roles: [admin]",
    "name: app, path: /",
)
# The same with a step-up route: every session needs auth_time.
STEP_UP_ROUTES = (
    *PASSIVE_ROUTES[:-1],
    "name: billing, path: /billing, max_auth_age: 15m",
    "name: app, path: /",
)

BOB: dict[str, Any] = {
    "sub": "user-bob",
    "name": "Bob",
    "email": "bob@example.com",
    "role": "general",
}
ALICE: dict[str, Any] = {
    "sub": "user-alice",
    "name": "Alice",
    "email": "a@example.com",
    "role": "admin",
}


def jar_after(header: str, set_cookies: Sequence[str]) -> str:
    """The Cookie header a browser sends after applying ``set_cookies`` to the cookies of
    ``header`` (Path=/ cookies only, which is all the app and the gateway write)."""
    jar: dict[str, str] = {}
    for piece in filter(None, (p.strip() for p in header.split(";"))):
        name, _, value = piece.partition("=")
        jar[name] = value
    for cookie in map(parse_set_cookie, set_cookies):
        if cookie.deletes:
            jar.pop(cookie.name, None)
        else:
            jar[cookie.name] = cookie.value
    return "; ".join(f"{name}={value}" for name, value in jar.items())
