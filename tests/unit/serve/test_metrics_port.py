"""gateway.serve.metrics_port: what /readyz reports, and the upstream probe behind it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from gateway.config import GatewayConfig, load_config_text
from gateway.serve.metrics_port import Readiness
from tests.support import free_port

SECRET = "unit-test-secret-0123456789abcdef-0123456789"


def config(upstream: int, other: int | None = None) -> GatewayConfig:
    route = (
        f"  - {{name: other, path: /other/, upstream: http://127.0.0.1:{other}}}\n" if other else ""
    )
    return load_config_text(
        f"""\
listen: 127.0.0.1:8080
metrics_listen: 127.0.0.1:9091
upstream: http://127.0.0.1:{upstream}
session: {{flavor: nextauth-v4, secrets: ["{SECRET}"]}}
policies:
  general: {{max_age: 1d}}
default_policy: general
routes:
{route}  - {{name: app, path: /}}
timeouts: {{connect: 1s}}
""",
        "t.yaml",
        env={},
    )


@pytest.fixture
async def listening() -> AsyncIterator[int]:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize(
    ("reached", "draining", "serving", "expected"),
    [
        pytest.param(True, False, None, (True, "ready"), id="ready"),
        pytest.param(False, False, None, (False, "starting"), id="upstream-not-reached"),
        pytest.param(True, True, None, (False, "draining"), id="draining"),
        pytest.param(False, True, None, (False, "draining"), id="draining-while-starting"),
        pytest.param(True, False, [11, 12], (True, "ready"), id="all-workers"),
        pytest.param(True, False, [11], (False, "starting"), id="a-worker-missing"),
    ],
)
def test_the_report(
    reached: bool, draining: bool, serving: list[int] | None, expected: tuple[bool, str]
) -> None:
    workers = None if serving is None else (lambda: (serving, 2))
    readiness = Readiness(config(3000), workers=workers)
    if reached:
        readiness.reached.add("127.0.0.1:3000")
    readiness.draining = draining
    ready, body = readiness.report()
    assert (ready, body["status"]) == expected
    assert body["upstreams"] == {"127.0.0.1:3000": reached}
    assert body["config"] == readiness.sha256[:12]
    if serving is not None:
        assert body["workers"] == {"wanted": 2, "serving": serving}


async def wait_for(readiness: Readiness, ready: bool) -> None:
    deadline = time.monotonic() + 10
    while readiness.report()[0] is not ready:
        assert time.monotonic() < deadline, readiness.report()
        await asyncio.sleep(0.01)


async def test_the_probe_reaches_what_listens_and_keeps_trying_the_rest(listening: int) -> None:
    missing = free_port()
    readiness = Readiness(config(listening, other=missing))
    probe = asyncio.create_task(readiness.probe())
    try:
        deadline = time.monotonic() + 10
        while f"127.0.0.1:{listening}" not in readiness.reached:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert readiness.report()[0] is False  # the other one never answered
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", missing)
        try:
            await wait_for(readiness, True)
        finally:
            server.close()
            await server.wait_closed()
    finally:
        probe.cancel()


async def test_a_reload_naming_a_new_upstream_is_probed_but_keeps_the_gateway_ready(
    listening: int,
) -> None:
    readiness = Readiness(config(listening))
    probe = asyncio.create_task(readiness.probe())
    try:
        await wait_for(readiness, True)
        missing = free_port()
        readiness.configure(config(listening, other=missing))
        ready, body = readiness.report()
        assert (ready, body["status"]) == (True, "ready")
        assert body["upstreams"] == {f"127.0.0.1:{listening}": True, f"127.0.0.1:{missing}": False}
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", missing)
        try:
            deadline = time.monotonic() + 10
            while f"127.0.0.1:{missing}" not in readiness.reached:  # the probe woke up
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
        finally:
            server.close()
            await server.wait_closed()
    finally:
        probe.cancel()


@pytest.mark.parametrize(
    ("serving", "expected"),
    [
        pytest.param([11], (True, "ready"), id="one-worker-restarting"),
        pytest.param([], (False, "down"), id="no-worker-serving"),
    ],
)
def test_once_ready_a_worker_restart_does_not_make_it_unready(
    serving: list[int], expected: tuple[bool, str]
) -> None:
    pids = [11, 12]
    readiness = Readiness(config(3000), workers=lambda: (pids, 2))
    readiness.reached.add("127.0.0.1:3000")
    assert readiness.report()[0] is True
    pids = serving
    ready, body = readiness.report()
    assert (ready, body["status"]) == expected
