"""Fixtures for the forwarder's tests: the test gateway in front of an upstream, a raw TCP
upstream for answers aiohttp would refuse to write, and no ERROR log allowed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.integration.forwarder import RawUpstream, Through, make_through


@pytest.fixture
def through(aiohttp_server: Any, aiohttp_client: Any) -> Through:
    return make_through(aiohttp_server, aiohttp_client)


@pytest.fixture
async def raw() -> AsyncIterator[RawUpstream]:
    upstream = RawUpstream()
    yield upstream
    await upstream.close()


@pytest.fixture(autouse=True)
def no_error_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A client or upstream going away is normal for a proxy: never an ERROR traceback."""
    yield
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
