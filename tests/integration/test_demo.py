"""`make run`'s demo, in-process: the embedded default config in front of the demo app, both
on one FakeClock. A newcomer's first minute: a redirect, a sign-in, identity headers, a
renewal, an expiry; a polling tab that is signed out once idle although the app re-issues its
cookie on every poll; a billing page that asks for a recent sign-in."""

from __future__ import annotations

import dataclasses
import email.utils
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from gateway.config import (
    DEMO_SECRET,
    ConfigError,
    GatewayConfig,
    Upstream,
    load_config,
    load_config_text,
)
from gateway.demo.nextauth import SIGN_IN_PATH
from gateway.demo.upstream import build_demo_app
from gateway.serve.handler import build_gateway
from gateway.session import SessionCodec
from tests.support import FakeClock
from tests.support.harness import GatewayClient

COOKIE = "next-auth.session-token"
NAV = {"Accept": "text/html"}
API = {"Accept": "application/json"}
ADMIN_MAX_AGE = 120  # config/gateway.yaml: policies.admin.max_age 2m
BILLING_WINDOW = 60  # config/gateway.yaml: routes billing, max_auth_age 1m


@dataclass
class Demo:
    client: TestClient[Any, Any]
    clock: FakeClock
    registry: CollectorRegistry

    async def sign_in(self, user: str, callback: str = "/", cookie: str | None = None) -> str:
        """The login page's form posted as a browser would; the session cookie it set."""
        headers = {} if cookie is None else {"Cookie": f"{COOKIE}={cookie}"}
        response = await self.client.post(
            SIGN_IN_PATH,
            data={"user": user, "callbackUrl": callback},
            headers=headers,
            allow_redirects=False,
        )
        assert response.status == 302 and response.headers["Location"] == callback
        return response.cookies[COOKIE].value

    async def get(self, path: str, headers: dict[str, str], cookie: str) -> ClientResponse:
        return await self.client.get(
            path, headers={**headers, "Cookie": f"{COOKIE}={cookie}"}, allow_redirects=False
        )

    def passive_reissues(self, policy: str) -> float | None:
        return self.registry.get_sample_value("gateway_passive_reissues_total", {"policy": policy})


def claims(value: str) -> dict[str, Any]:
    return SessionCodec("nextauth-v4", (DEMO_SECRET,)).decode(value, COOKIE).claims


def set_cookie(response: ClientResponse) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for line in response.headers.getall("Set-Cookie", ()):
        jar.load(line)
    return jar


def pointed_at(config: GatewayConfig, port: int) -> GatewayConfig:
    upstream = Upstream("http", "127.0.0.1", port)
    routes = tuple(dataclasses.replace(r, upstream=upstream) for r in config.routes)
    return dataclasses.replace(config, upstream=upstream, routes=routes)


@pytest.fixture
async def demo(gateway_client: GatewayClient) -> Any:
    config = load_config("config/gateway.yaml")
    clock = FakeClock(float(int(time.time())))
    upstream = TestServer(build_demo_app(config, clock=clock), host="127.0.0.1")
    await upstream.start_server()
    assert upstream.port is not None
    registry = CollectorRegistry()
    gateway = build_gateway(pointed_at(config, upstream.port), registry=registry, clock=clock)
    yield Demo(await gateway_client(gateway), clock, registry)
    await upstream.close()


async def test_redirect_login_renewal_expiry(demo: Demo) -> None:
    client, clock = demo.client, demo.clock
    first = await client.get("/admin/", headers=NAV, allow_redirects=False)
    assert first.status == 302
    callback = parse_qs(urlsplit(first.headers["Location"]).query)["callbackUrl"][0]
    assert callback == "/admin/"
    login_page = await client.get(first.headers["Location"], headers=NAV)
    assert login_page.status == 200 and f"action={SIGN_IN_PATH}" in await login_page.text()
    cookie = await demo.sign_in("alice", callback)
    # The sign-in passed the gateway, which stamped the sign-in time the demo app never writes.
    assert claims(cookie)["auth_time"] == int(clock.now)
    admin = await demo.get("/admin/", NAV, cookie)
    assert admin.status == 200 and "user-alice" in await admin.text()
    assert "Set-Cookie" not in admin.headers
    clock.advance(21)  # past the demo admin's update_age (20s)
    renewed = await demo.get("/", NAV, cookie)
    assert renewed.status == 200 and f"{COOKIE}=" in renewed.headers["Set-Cookie"]
    clock.advance(121)  # past max_age (2m) without using the renewed cookie
    expired = await demo.get("/", NAV, cookie)
    assert expired.status == 302 and "Max-Age=0" in expired.headers["Set-Cookie"]


async def test_bob_may_not_open_the_admin_page(demo: Demo) -> None:
    response = await demo.client.post(
        SIGN_IN_PATH, data={"user": "bob", "callbackUrl": "//evil.com"}, allow_redirects=False
    )
    assert response.headers["Location"] == "/"
    cookie = response.cookies[COOKIE].value
    assert (await demo.get("/admin/", NAV, cookie)).status == 403
    assert (await demo.get("/admin/watch", NAV, cookie)).status == 403


async def test_a_polling_tab_is_signed_out_when_idle(demo: Demo) -> None:
    """The app re-issues its cookie on every poll, as NextAuth does; the session route is
    passive, so the gateway keeps the cookie's iat and the idle window runs out anyway."""
    cookie = await demo.sign_in("alice", "/admin/watch")
    signed_in = claims(cookie)
    tab = await demo.get("/admin/watch", NAV, cookie)
    assert tab.status == 200 and "/api/auth/session" in await tab.text()
    polls = ADMIN_MAX_AGE // 30  # at 30, 60, 90 and 120 s: each past update_age (20s)
    for _ in range(polls):
        demo.clock.advance(30)
        poll = await demo.get("/api/auth/session", API, cookie)
        assert poll.status == 200 and (await poll.json())["user"]["email"] == "alice@example.com"
        reissued = set_cookie(poll)[COOKIE]
        now = claims(reissued.value)
        assert now["iat"] == signed_in["iat"]  # the app wrote a fresh one; the gateway kept it
        assert now["auth_time"] == signed_in["auth_time"]
        assert now["exp"] == signed_in["iat"] + ADMIN_MAX_AGE  # not the app's 30 days
        assert email.utils.parsedate_to_datetime(reissued["expires"]).timestamp() == now["exp"]
        assert now["jti"] != signed_in["jti"]  # otherwise the app's cookie, as it wrote it
        cookie = reissued.value
    assert demo.passive_reissues("admin") == polls
    view = await demo.get("/_gateway/session", API, cookie)
    assert (await view.json())["expires_at"] == signed_in["iat"] + ADMIN_MAX_AGE
    demo.clock.advance(30)  # past max_age since the last request that was the user
    signed_out = await demo.get("/api/auth/session", API, cookie)
    assert await signed_out.json() == {}  # the tab's script now goes to the login page
    assert set_cookie(signed_out)[COOKIE]["max-age"] == "0"


async def test_a_page_between_polls_keeps_the_session(demo: Demo) -> None:
    cookie = await demo.sign_in("alice", "/admin/watch")
    demo.clock.advance(100)
    page = await demo.get("/admin/watch", NAV, cookie)  # the user: renewed
    cookie = set_cookie(page)[COOKIE].value
    demo.clock.advance(100)  # 200 s after the sign-in, 100 s after the page
    poll = await demo.get("/api/auth/session", API, cookie)
    assert (await poll.json())["user"]["name"] == "Alice Admin"


async def test_billing_asks_for_a_recent_sign_in(demo: Demo) -> None:
    cookie = await demo.sign_in("bob", "/billing")
    fresh = await demo.get("/billing", NAV, cookie)
    assert fresh.status == 200 and "You signed in 0 s ago" in await fresh.text()
    demo.clock.advance(BILLING_WINDOW + 1)
    home = await demo.get("/", NAV, cookie)
    assert home.status == 200  # the session itself is fine; only billing wants more
    navigation = await demo.get("/billing", NAV, cookie)
    assert navigation.status == 302
    location = urlsplit(navigation.headers["Location"])
    assert location.path == "/login" and parse_qs(location.query)["callbackUrl"] == ["/billing"]
    assert set_cookie(navigation)[COOKIE]["max-age"] == "0"  # the login page asks anew
    call = await demo.get("/billing", API, cookie)
    assert call.status == 401 and "Set-Cookie" not in call.headers
    assert await call.json() == {"error": "reauthentication_required", "max_auth_age": 60}
    assert call.headers["WWW-Authenticate"] == (
        'Session realm="gateway", error="insufficient_user_authentication", max_age=60'
    )
    # Signing in again through the app's callback is a new sign-in, even with the old cookie.
    again = await demo.sign_in("bob", "/billing", cookie=cookie)
    assert claims(again)["auth_time"] == int(demo.clock.now)
    assert (await demo.get("/billing", NAV, again)).status == 200


def test_the_demo_secret_is_refused_outside_the_demo() -> None:
    text = Path("config/gateway.yaml").read_text().replace("demo: true", "demo: false")
    with pytest.raises(ConfigError) as error:
        load_config_text(text, "copy.yaml", env={})
    assert "demo secret" in str(error.value)
    assert DEMO_SECRET not in str(error.value)
