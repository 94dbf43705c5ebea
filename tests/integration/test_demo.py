"""`make run`'s demo, in-process: the embedded default config in front of the demo app. A
newcomer's first minute: a redirect, a login, identity headers, a renewal, an expiry."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from gateway.config import (
    DEMO_SECRET,
    ConfigError,
    GatewayConfig,
    Upstream,
    load_config,
    load_config_text,
)
from gateway.demo.upstream import build_demo_app
from gateway.serve.handler import build_gateway
from tests.support import FakeClock
from tests.support.harness import GatewayClient

NAV = {"Accept": "text/html"}


def pointed_at(config: GatewayConfig, port: int) -> GatewayConfig:
    upstream = Upstream("http", "127.0.0.1", port)
    routes = tuple(dataclasses.replace(r, upstream=upstream) for r in config.routes)
    return dataclasses.replace(config, upstream=upstream, routes=routes)


@pytest.fixture
async def demo(gateway_client: GatewayClient) -> Any:
    config = load_config("config/gateway.yaml")
    upstream = TestServer(build_demo_app(config), host="127.0.0.1")
    await upstream.start_server()
    clock = FakeClock(time.time())
    client = await gateway_client(
        build_gateway(pointed_at(config, upstream.port), registry=CollectorRegistry(), clock=clock)
    )
    yield client, clock
    await upstream.close()


async def test_redirect_login_renewal_expiry(demo: Any) -> None:
    client, clock = demo
    first = await client.get("/admin/", headers=NAV, allow_redirects=False)
    assert first.status == 302
    callback = parse_qs(urlsplit(first.headers["Location"]).query)["callbackUrl"][0]
    assert callback == "/admin/"
    login = await client.post(
        "/login", data={"user": "alice", "callbackUrl": callback}, allow_redirects=False
    )
    assert login.status == 302 and login.headers["Location"] == "/admin/"
    cookie = login.cookies["next-auth.session-token"].value
    headers = {**NAV, "Cookie": f"next-auth.session-token={cookie}"}
    admin = await client.get("/admin/", headers=headers)
    assert admin.status == 200 and "user-alice" in await admin.text()
    # The admin policy has a hard cap: the first response records auth_time in the cookie.
    cookie = admin.cookies["next-auth.session-token"].value
    headers = {**NAV, "Cookie": f"next-auth.session-token={cookie}"}
    again = await client.get("/admin/", headers=headers)
    assert again.status == 200 and "Set-Cookie" not in again.headers
    clock.advance(21)  # past the demo admin's update_age (20s)
    renewed = await client.get("/", headers=headers)
    assert renewed.status == 200 and "next-auth.session-token=" in renewed.headers["Set-Cookie"]
    clock.advance(121)  # past max_age (2m) without using the renewed cookie
    expired = await client.get("/", headers=headers, allow_redirects=False)
    assert expired.status == 302 and "Max-Age=0" in expired.headers["Set-Cookie"]


async def test_bob_may_not_open_the_admin_page(demo: Any) -> None:
    client, _ = demo
    login = await client.post(
        "/login", data={"user": "bob", "callbackUrl": "//evil.com"}, allow_redirects=False
    )
    assert login.headers["Location"] == "/"
    cookie = login.cookies["next-auth.session-token"].value
    response = await client.get(
        "/admin/", headers={**NAV, "Cookie": f"next-auth.session-token={cookie}"}
    )
    assert response.status == 403


def test_the_demo_secret_is_refused_outside_the_demo() -> None:
    text = Path("config/gateway.yaml").read_text().replace("demo: true", "demo: false")
    with pytest.raises(ConfigError) as error:
        load_config_text(text, "copy.yaml", env={})
    assert "demo secret" in str(error.value)
    assert DEMO_SECRET not in str(error.value)
