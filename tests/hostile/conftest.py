"""Fixtures for the adversarial corpus: a real upstream and a real gateway on 127.0.0.1, the
gateway served as ``gateway run`` serves it (:func:`tests.support.start_gateway`), driven by
the hand-written HTTP/1.1 of :mod:`tests.support.wire`.

Two ways to run a gateway here:

``live`` (and ``live_public``, ``live_v5``, ``_live_loop.gateway(...)`` for other configs)
    A gateway and upstream served by an event loop in a background thread, started once per
    configuration for the whole session (:class:`tests.support.live.LiveLoop`).
``harness_factory`` / ``gw``
    The integration harness (function scoped, a FakeClock the test moves), here on the
    production server, for the renewal and Set-Cookie tests.

test_websocket_expiry.py has a third, ``ws_gateway``, of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig
from tests.support import FakeClock, GatewayTestServer
from tests.support.harness import Harnesses, MakeHarness
from tests.support.live import PUBLIC_URL, LiveGateway, LiveLoop


@pytest.fixture(scope="session")
def _live_loop() -> Iterator[LiveLoop]:
    live = LiveLoop()
    yield live
    live.close()


@pytest.fixture(scope="session")
def live(_live_loop: LiveLoop) -> LiveGateway:
    """The default gateway: nextauth-v4, relative Locations."""
    return _live_loop.gateway("nextauth-v4", "")


@pytest.fixture(scope="session")
def live_public(_live_loop: LiveLoop) -> LiveGateway:
    """The same gateway with ``public_url`` set: login Locations are absolute."""
    return _live_loop.gateway("nextauth-v4", f"public_url: {PUBLIC_URL}")


@pytest.fixture(scope="session")
def live_v5(_live_loop: LiveLoop) -> LiveGateway:
    return _live_loop.gateway("authjs-v5", "")


@pytest.fixture
def gateways(live: LiveGateway, live_v5: LiveGateway) -> dict[str, LiveGateway]:
    return {"nextauth-v4": live, "authjs-v5": live_v5}


@pytest.fixture
async def harness_factory() -> AsyncIterator[MakeHarness]:
    """The integration harness (tests/conftest.py) with its gateway on the production
    server instead of aiohttp's test server."""

    async def serve(
        config: GatewayConfig, clock: FakeClock, registry: CollectorRegistry
    ) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = TestClient(
            GatewayTestServer(config, clock=clock, registry=registry)
        )
        await client.start_server()
        return client

    harnesses = Harnesses(serve)
    yield harnesses
    await harnesses.close()
