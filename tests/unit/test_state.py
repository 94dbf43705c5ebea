"""gateway.state: config swaps, the upstream pool's replacement, requests in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig, load_config_text
from gateway.observe import GatewayMetrics
from gateway.state import GatewayState

SECRET = "unit-test-secret-0123456789abcdef-0123456789"


def config(*, max_age: str = "1d", connect: str = "5s", upstream: int = 3000) -> GatewayConfig:
    return load_config_text(
        f"""\
listen: 127.0.0.1:8080
metrics_listen: 127.0.0.1:9091
upstream: http://127.0.0.1:{upstream}
session: {{flavor: nextauth-v4, secrets: ["{SECRET}"]}}
policies:
  general: {{max_age: {max_age}}}
default_policy: general
routes:
  - {{name: app, path: /}}
timeouts: {{connect: {connect}}}
""",
        "t.yaml",
        env={},
    )


async def closed_soon(check: Callable[[], bool]) -> bool:
    """Poll a pool close that runs as a task, with a deadline."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_swap_is_seen_by_the_next_reader() -> None:
    state = GatewayState(config(), GatewayMetrics(CollectorRegistry()))
    before = state.snapshot
    state.swap(config(max_age="1h"))
    assert state.snapshot is not before
    assert state.snapshot.config.policy("general").max_age == 3600
    assert before.config.policy("general").max_age == 86400  # a request's view stays whole
    await state.close()


async def test_the_pool_is_kept_when_timeouts_and_upstreams_are_unchanged() -> None:
    state = GatewayState(config(), GatewayMetrics(CollectorRegistry()))
    pool = state.pool
    state.swap(config(max_age="1h"))
    assert state.pool is pool
    await state.close()


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"connect": "1s"}, id="timeouts"),
        pytest.param({"upstream": 3001}, id="upstreams"),
    ],
)
async def test_a_replaced_pool_closes_after_the_requests_that_may_use_it(
    changed: dict[str, Any],
) -> None:
    state = GatewayState(config(), GatewayMetrics(CollectorRegistry()))
    old = state.pool
    session = old.session(state.snapshot.config.upstream)
    request = state.enter()  # a request in flight, started before the reload
    state.swap(config(**changed))
    assert state.pool is not old
    assert state.pool.timeouts == state.snapshot.config.timeouts
    await asyncio.sleep(0)
    assert not session.closed
    later = state.enter()  # started after: uses the new pool, does not hold the old one
    state.leave(request)
    assert await closed_soon(lambda: session.closed)
    state.leave(later)
    await state.close()


async def test_drained_waits_for_the_last_request() -> None:
    state = GatewayState(config(), GatewayMetrics(CollectorRegistry()))
    first, second = state.enter(), state.enter()
    waiter = asyncio.create_task(state.drained())
    state.leave(first)
    await asyncio.sleep(0)
    assert not waiter.done() and state.inflight == 1
    state.leave(second)
    await asyncio.wait_for(waiter, 5)
    assert state.inflight == 0
    await state.drained()  # nothing in flight: at once
    await state.close()
