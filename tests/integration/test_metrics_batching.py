"""Metrics are recorded once per loop turn (gateway.observe.turns), yet through the real gateway a
client that got its answer already finds its request in the registry, with no flush; the
in-flight gauge follows a request held at the upstream. Used directly, GatewayMetrics lags by
exactly one turn, which flush() closes."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CollectorRegistry

from gateway.observe.metrics import GatewayMetrics
from gateway.policy import Decision, Kind
from tests.support import T0
from tests.support.harness import Harness

COOKIE = "next-auth.session-token"
BOB = {"sub": "user-bob", "email": "bob@example.com", "role": "general"}
ROUTED = {"route": "app", "method": "GET", "code": "200"}
ALLOWED = {"route": "app", "policy": "general", "decision": "allowed"}


class Arrivals(list[web.Request]):
    """Recorder.requests that sets an event when the upstream receives a request."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()

    def append(self, item: web.Request) -> None:
        super().append(item)
        self.arrived.set()


def value(gw: Harness | CollectorRegistry, name: str, labels: dict[str, str]) -> float:
    registry = gw.registry if isinstance(gw, Harness) else gw
    return registry.get_sample_value(name, labels) or 0.0


async def test_each_answered_request_is_counted_before_the_client_resumes(gw: Harness) -> None:
    cookie = {"Cookie": f"{COOKIE}={gw.token(BOB, iat=T0 - 60)}"}
    seen: list[tuple[float, float]] = []
    for _ in range(5):
        async with gw.client.get("/", headers=cookie) as response:
            assert response.status == 200
            await response.read()
        seen.append(
            (
                value(gw, "gateway_requests_total", ROUTED),
                value(gw, "gateway_auth_decisions_total", ALLOWED),
            )
        )
    assert seen == [(n, n) for n in range(1, 6)]


async def test_concurrent_requests_are_all_counted_when_the_last_answer_is_in(gw: Harness) -> None:
    cookie = {"Cookie": f"{COOKIE}={gw.token(BOB, iat=T0 - 60)}"}

    async def one() -> int:
        async with gw.client.get("/", headers=cookie) as response:
            await response.read()
            return response.status

    assert await asyncio.gather(*(one() for _ in range(20))) == [200] * 20
    assert value(gw, "gateway_requests_total", ROUTED) == 20
    assert value(gw, "gateway_auth_decisions_total", ALLOWED) == 20
    assert value(gw, "gateway_request_duration_seconds_count", {"route": "app"}) == 20


async def test_inflight_is_one_while_the_upstream_holds_the_request(gw: Harness) -> None:
    arrivals = gw.recorder.requests = Arrivals()
    cookie = {"Cookie": f"{COOKIE}={gw.token(BOB, iat=T0 - 60)}"}
    assert value(gw, "gateway_inflight_requests", {}) == 0
    pending = asyncio.create_task(gw.client.get("/stall", headers=cookie))
    try:
        await asyncio.wait_for(arrivals.arrived.wait(), 5)
        assert value(gw, "gateway_inflight_requests", {}) == 1
        assert value(gw, "gateway_requests_total", ROUTED) == 0
    finally:
        gw.recorder.release.set()
    async with await pending as response:
        assert response.status == 200
        await response.read()
    assert value(gw, "gateway_inflight_requests", {}) == 0
    assert value(gw, "gateway_requests_total", ROUTED) == 1


async def test_direct_use_lags_one_turn_and_flush_closes_the_gap() -> None:
    registry = CollectorRegistry()
    metrics = GatewayMetrics(registry, config_metrics=False)
    public = Decision(Kind.PUBLIC, "public route", state=Kind.UNAUTHENTICATED)
    done = {"route": "login", "method": "GET", "code": "200"}
    decided = {"route": "login", "policy": "none", "decision": "public"}

    metrics.request_started()
    assert value(registry, "gateway_inflight_requests", {}) == 0  # same turn: old value
    metrics.flush()
    assert value(registry, "gateway_inflight_requests", {}) == 1

    metrics.observe_decision("login", public, T0)
    metrics.request_done("login", "GET", 200, 0.01)
    assert value(registry, "gateway_auth_decisions_total", decided) == 0
    assert value(registry, "gateway_requests_total", done) == 0
    assert value(registry, "gateway_inflight_requests", {}) == 1
    metrics.flush()
    assert value(registry, "gateway_auth_decisions_total", decided) == 1
    assert value(registry, "gateway_requests_total", done) == 1
    assert value(registry, "gateway_inflight_requests", {}) == 0

    metrics.request_started()
    metrics.request_done("login", "GET", 200, 0.01)
    assert value(registry, "gateway_requests_total", done) == 1
    await asyncio.sleep(0)  # the end of the turn records without a flush
    assert value(registry, "gateway_requests_total", done) == 2
