"""Fixtures shared across the test folders."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import BaseRequest
from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig
from gateway.serve import Gateway, build_gateway
from tests.support import FakeClock
from tests.support.harness import GatewayClient, Harness, Harnesses, MakeHarness


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide loggers: put them back after the test."""
    saved = [
        (logger, logger.handlers[:], logger.level, logger.propagate)
        for logger in map(logging.getLogger, ("gateway", "aiohttp", "aiohttp.access"))
    ]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.fixture
async def gateway_client(
    aiohttp_client: Any,
    aiohttp_raw_server: Any,
) -> AsyncIterator[GatewayClient]:
    """``await gateway_client(build_gateway(...))``: a test client of the gateway served on
    127.0.0.1 by aiohttp's low-level server with the gateway's handler and field limits (not
    the production server of ``gateway run``: tests.support.start_gateway is that); its
    upstream connections are closed after the test."""
    gateways: list[Gateway] = []

    async def make(gateway: Gateway) -> TestClient[BaseRequest, None]:
        gateways.append(gateway)
        server = await aiohttp_raw_server(gateway.handler, **gateway.server_options)
        return await aiohttp_client(server)  # type: ignore[no-any-return]

    yield make
    for gateway in gateways:
        await gateway.close()


@pytest.fixture
async def harness_factory(gateway_client: GatewayClient) -> AsyncIterator[MakeHarness]:
    """``await harness_factory(flavor=..., routes=..., extra=...)``: a
    :class:`~tests.support.harness.Harness` (a recording upstream, the gateway in front of it
    through :func:`gateway_client`, a FakeClock at T0)."""

    async def serve(
        config: GatewayConfig, clock: FakeClock, registry: CollectorRegistry
    ) -> TestClient[Any, Any]:
        return await gateway_client(build_gateway(config, registry=registry, clock=clock))

    harnesses = Harnesses(serve)
    yield harnesses
    await harnesses.close()


@pytest.fixture
async def gw(harness_factory: MakeHarness) -> Harness:
    """The default harness: nextauth-v4, the integration config."""
    return await harness_factory()
