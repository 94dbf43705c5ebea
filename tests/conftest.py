"""Fixtures shared across the test folders."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import BaseRequest

from gateway.serve.handler import Gateway


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


GatewayClient = Callable[[Gateway], Awaitable[TestClient[BaseRequest, None]]]


@pytest.fixture
async def gateway_client(
    aiohttp_client: Any,
    aiohttp_raw_server: Any,
) -> AsyncIterator[GatewayClient]:
    """``await gateway_client(build_gateway(...))``: a test client of the gateway served on
    127.0.0.1 by aiohttp's low-level server, as ``gateway run`` serves it; its upstream
    connections are closed after the test."""
    gateways: list[Gateway] = []

    async def make(gateway: Gateway) -> TestClient[BaseRequest, None]:
        gateways.append(gateway)
        server = await aiohttp_raw_server(gateway.handler, **gateway.server_options)
        return await aiohttp_client(server)  # type: ignore[no-any-return]

    yield make
    for gateway in gateways:
        await gateway.close()
