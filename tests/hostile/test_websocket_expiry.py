"""Issue 4, item 9: a WebSocket opened with a valid session does not outlive it.

Through the whole gateway (route, cookie, policy, renewal, forwarder), with a clock the test
moves: when the session passes its policy's ``max_age`` counted from its last renewal, or its
``absolute_max_age`` counted from sign-in, the gateway closes both sides with 1008. The bridge
checks the clock on every message, so moving the fake clock and sending one message is exactly
"the next frame after the deadline"; the idle case (no message at all) runs on a clock that
follows real time and expires half a second after the upgrade.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from gateway.config import GatewayConfig, load_config_text
from tests.support import T0, FakeClock, GatewayTestServer, claims_of, mint
from tests.support.harness import harness_config_text
from tests.support.wire import DEADLINE

BOB = {"sub": "user-bob", "role": "general"}  # general: max_age 1d, update_age 6h
ALICE = {"sub": "user-alice", "role": "admin"}  # admin: max_age 2h, update_age 1h, cap 12h
DAY, HOUR = 86400, 3600


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
    """A gateway (served as ``gateway run`` serves it) in front of a :class:`WsUpstream`."""

    config: GatewayConfig
    client: TestClient[Any, Any]
    upstream: WsUpstream

    def token(self, claims: dict[str, Any], *, iat: float, max_age: int = 86400) -> str:
        session = self.config.session
        return mint(
            claims,
            iat=iat,
            max_age=max_age,
            secrets=session.secrets,
            flavor=session.flavor,
            cookie=session.cookie,
        )

    def cookie(self, claims: dict[str, Any], *, iat: float) -> dict[str, str]:
        return {"Cookie": f"{self.config.session.cookie}={self.token(claims, iat=iat)}"}


MakeWsGateway = Callable[[Callable[[], float]], Awaitable[WsGateway]]


@pytest.fixture
async def ws_gateway(aiohttp_server: Any) -> AsyncIterator[MakeWsGateway]:
    """``await ws_gateway(clock)``: a :class:`WsGateway` on that clock."""
    clients: list[TestClient[Any, Any]] = []

    async def make(clock: Callable[[], float]) -> WsGateway:
        upstream = WsUpstream()
        server = await aiohttp_server(upstream.app(), host="127.0.0.1")
        config = load_config_text(harness_config_text(server.port), "ws.yaml", env={})
        client: TestClient[Any, Any] = TestClient(GatewayTestServer(config, clock=clock))
        await client.start_server()
        clients.append(client)
        return WsGateway(config, client, upstream)

    yield make
    for client in clients:
        await client.close()


async def receive(ws: aiohttp.ClientWebSocketResponse) -> aiohttp.WSMessage:
    return await asyncio.wait_for(ws.receive(), DEADLINE)


async def echoes(ws: aiohttp.ClientWebSocketResponse, text: str) -> None:
    await ws.send_str(text)
    message = await receive(ws)
    assert (message.type, message.data) == (WSMsgType.TEXT, text)


async def closes_with_1008(
    ws: aiohttp.ClientWebSocketResponse, gateway: WsGateway, text: str
) -> None:
    """The next message after the deadline is not relayed: both sides get 1008."""
    await ws.send_str(text)
    message = await receive(ws)
    assert (message.type, message.data, message.extra) == (WSMsgType.CLOSE, 1008, "session expired")
    await asyncio.wait_for(gateway.upstream.closed.wait(), DEADLINE)
    assert gateway.upstream.close_codes == [1008]
    assert text not in gateway.upstream.received


def renewed_on_upgrade(gateway: WsGateway) -> dict[str, Any]:
    """The claims of the session cookie the 101 response set (the client's jar took it)."""
    name = gateway.config.session.cookie
    jar = gateway.client.session.cookie_jar.filter_cookies(gateway.client.make_url("/"))
    assert name in jar, "the upgrade response carries no renewed session cookie"
    session = gateway.config.session
    return claims_of(jar[name].value, secrets=session.secrets, flavor=session.flavor, cookie=name)


async def test_max_age_from_iat_closes_with_1008(ws_gateway: MakeWsGateway) -> None:
    clock = FakeClock()
    gateway = await ws_gateway(clock)
    iat = T0 - 60  # not due for renewal: the socket lives until iat + max_age
    async with gateway.client.ws_connect("/ws", headers=gateway.cookie(BOB, iat=iat)) as ws:
        await echoes(ws, "hello")
        clock.now = iat + DAY - 1
        await echoes(ws, "still in time")
        clock.now = iat + DAY
        await closes_with_1008(ws, gateway, "too late")


async def test_max_age_counts_from_the_renewal_made_on_the_upgrade(
    ws_gateway: MakeWsGateway,
) -> None:
    clock = FakeClock()
    gateway = await ws_gateway(clock)
    iat = T0 - 7 * HOUR  # due (update_age 6h): the 101 renews, and the renewal sets the end
    async with gateway.client.ws_connect("/ws", headers=gateway.cookie(BOB, iat=iat)) as ws:
        assert renewed_on_upgrade(gateway)["iat"] == T0
        clock.now = iat + DAY + 60  # the old cookie's end has passed: the renewal's has not
        await echoes(ws, "renewed")
        clock.now = T0 + DAY
        await closes_with_1008(ws, gateway, "too late")


async def test_absolute_max_age_closes_before_max_age(ws_gateway: MakeWsGateway) -> None:
    clock = FakeClock()
    gateway = await ws_gateway(clock)
    signed_in = T0 - 12 * HOUR + 120  # the 12h cap falls 2 minutes from now
    claims = {**ALICE, "auth_time": signed_in}
    async with gateway.client.ws_connect("/ws", headers=gateway.cookie(claims, iat=T0 - 60)) as ws:
        clock.now = signed_in + 12 * HOUR - 1
        await echoes(ws, "inside the cap")
        clock.now = signed_in + 12 * HOUR
        await closes_with_1008(ws, gateway, "past the cap")


async def test_auth_time_recorded_on_the_upgrade_starts_the_cap(ws_gateway: MakeWsGateway) -> None:
    clock = FakeClock()
    gateway = await ws_gateway(clock)
    iat = T0 - 60  # no auth_time yet: the 101 renews to record it (= iat)
    async with gateway.client.ws_connect("/ws", headers=gateway.cookie(ALICE, iat=iat)) as ws:
        assert renewed_on_upgrade(gateway)["auth_time"] == iat
        clock.now = T0 + 2 * HOUR - 1  # the renewal's max_age (2h from now) comes first
        await echoes(ws, "inside max_age")
        clock.now = T0 + 2 * HOUR
        await closes_with_1008(ws, gateway, "past max_age")


class RealTimeClock:
    """Runs at real speed from ``start``: lets the bridge's own timer fire."""

    def __init__(self, start: float) -> None:
        self.offset = start - time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() + self.offset


async def test_an_idle_socket_is_closed_by_the_timer(ws_gateway: MakeWsGateway) -> None:
    clock = RealTimeClock(T0 + 0.5)
    gateway = await ws_gateway(clock)
    claims = {**ALICE, "auth_time": T0 - 12 * HOUR + 1}  # the cap is reached at T0 + 1
    started = time.monotonic()
    async with gateway.client.ws_connect("/ws", headers=gateway.cookie(claims, iat=T0 - 60)) as ws:
        message = await receive(ws)  # nothing sent: only the timer can close it
        assert (message.type, message.data) == (WSMsgType.CLOSE, 1008)
    assert time.monotonic() - started < 3
    await asyncio.wait_for(gateway.upstream.closed.wait(), DEADLINE)
    assert gateway.upstream.close_codes == [1008]


@pytest.mark.parametrize(
    ("path", "claims", "iat", "status"),
    [
        ("/ws", BOB, T0 - DAY - 1, 401),  # idle past max_age
        ("/ws", {**ALICE, "auth_time": T0 - 13 * HOUR}, T0 - 60, 401),  # past the cap
        ("/admin/ws", BOB, T0 - 60, 403),  # valid, but not the role
    ],
    ids=["expired", "capped", "forbidden"],
)
async def test_no_upgrade_for_a_session_that_may_not_open_it(
    ws_gateway: MakeWsGateway, path: str, claims: dict[str, Any], iat: int, status: int
) -> None:
    gateway = await ws_gateway(FakeClock())
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await gateway.client.ws_connect(path, headers=gateway.cookie(claims, iat=iat))
    assert caught.value.status == status
    assert gateway.upstream.close_codes == [] and gateway.upstream.received == []
