"""Graceful shutdown of a real gateway process: SIGTERM/SIGINT fail /readyz at once, stop
accepting, let requests and WebSockets in flight finish within the grace, then exit 0."""

from __future__ import annotations

import asyncio
import signal
import time

import aiohttp
import pytest

from tests.support.gateway_process import GatewayProcess, Launch, refuses_connections
from tests.support.polling import eventually, until
from tests.support.upstreams import Upstream


async def draining(gateway: GatewayProcess) -> None:
    async def answered_503() -> bool:
        status, body = await gateway.readyz()
        return status == 503 and body["status"] == "draining"

    await eventually(answered_503, "/readyz to answer 503 draining")


async def stalled(gateway: GatewayProcess, upstream: Upstream) -> asyncio.Task[tuple[int, str]]:
    """A request that waits in the upstream until the test releases it."""
    request = asyncio.create_task(gateway.get("/stall"))
    await until(lambda: "/stall" in upstream.paths, "the upstream to receive /stall")
    return request


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_request_in_flight_completes_and_the_process_exits_0(
    launch: Launch, upstream: Upstream, sig: signal.Signals
) -> None:
    gateway = await launch()
    request = await stalled(gateway, upstream)
    gateway.send(sig)
    await draining(gateway)

    async def closed() -> bool:
        return await refuses_connections(gateway.port)

    await eventually(closed, "the proxied port to stop accepting")
    assert not request.done()
    assert gateway.process.poll() is None
    upstream.release.set()
    assert await request == (200, '{"path": "/stall"}')
    assert await gateway.exited() == 0


async def test_an_open_websocket_keeps_working_until_the_client_closes_it(launch: Launch) -> None:
    gateway = await launch()
    ws = await gateway.client.ws_connect(gateway.url("/ws"))
    await ws.send_str("before")
    assert await ws.receive_str() == "before"
    gateway.send(signal.SIGTERM)
    await draining(gateway)
    await ws.send_str("during the drain")
    assert await ws.receive_str() == "during the drain"
    assert gateway.process.poll() is None
    await ws.close()
    assert await gateway.exited() == 0


async def test_the_grace_bounds_the_wait(launch: Launch, upstream: Upstream) -> None:
    gateway = await launch(grace="1s")
    request = await stalled(gateway, upstream)
    signalled = time.monotonic()
    gateway.send(signal.SIGTERM)
    assert await gateway.exited() == 0
    assert time.monotonic() - signalled >= 1.0
    with pytest.raises(aiohttp.ClientError):
        await request


async def test_a_second_signal_stops_waiting(launch: Launch, upstream: Upstream) -> None:
    gateway = await launch(grace="1m")
    request = await stalled(gateway, upstream)
    signalled = time.monotonic()
    gateway.send(signal.SIGINT)
    await draining(gateway)
    gateway.send(signal.SIGINT)
    assert await gateway.exited() == 0
    assert time.monotonic() - signalled < 30  # well inside the minute of grace
    with pytest.raises(aiohttp.ClientError):
        await request
    assert "shutdown: 1 requests in flight cut" in gateway.log()


async def test_a_keep_alive_connection_gets_its_last_answer_during_the_drain(
    launch: Launch, upstream: Upstream
) -> None:
    gateway = await launch()
    async with aiohttp.ClientSession() as keep_alive:  # pools its connection
        async with keep_alive.get(gateway.url("/first")) as response:
            assert response.status == 200
            await response.read()  # all of it: the connection goes back to the pool
        request = await stalled(gateway, upstream)
        gateway.send(signal.SIGTERM)
        await draining(gateway)
        async with keep_alive.get(gateway.url("/during")) as response:
            assert (response.status, response.headers["Connection"]) == (200, "close")
        upstream.release.set()
        assert (await request)[0] == 200
    assert await gateway.exited() == 0
