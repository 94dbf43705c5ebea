"""/healthz and /readyz of a real gateway process, on the metrics port only."""

from __future__ import annotations

import asyncio

from tests.support import free_port
from tests.support.gateway_process import Launch, sha12
from tests.support.polling import eventually
from tests.support.upstreams import Upstream


async def test_health_endpoints_answer_json_on_the_metrics_port(
    launch: Launch, upstream: Upstream
) -> None:
    gateway = await launch()
    async with gateway.client.get(gateway.admin_url("/healthz")) as response:
        assert response.content_type == "application/json"
        assert (response.status, await response.json()) == (200, {"status": "ok"})
    status, body = await gateway.readyz()
    assert (status, body["status"]) == (200, "ready")
    assert body["upstreams"] == {f"127.0.0.1:{upstream.port}": True}
    assert body["config"] == sha12(gateway.render())


async def test_the_proxied_port_does_not_serve_them(launch: Launch, upstream: Upstream) -> None:
    gateway = await launch()
    for path in ("/metrics", "/healthz", "/readyz"):
        status, body = await gateway.get(path)
        assert (status, body) == (200, f'{{"path": "{path}"}}')  # the upstream's answer
    assert upstream.paths[-3:] == ["/metrics", "/healthz", "/readyz"]


async def test_readyz_waits_until_every_upstream_answered(
    launch: Launch, upstream: Upstream
) -> None:
    later = free_port()
    gateway = await launch(
        ready=False,
        more_routes=[f"name: later, path: /later/, upstream: http://127.0.0.1:{later}"],
    )

    async def starting() -> bool:
        assert gateway.process.poll() is None, gateway.log()
        try:
            status, body = await gateway.readyz()
        except OSError:
            return False
        return status == 503 and body["status"] == "starting"

    await eventually(starting, "/readyz to answer 503 starting")
    _, body = await gateway.readyz()
    assert body["upstreams"] == {f"127.0.0.1:{upstream.port}": True, f"127.0.0.1:{later}": False}
    assert (await gateway.admin("/healthz"))[0] == 200  # alive all the same
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", later)
    try:

        async def ready() -> bool:
            return (await gateway.readyz())[0] == 200

        await eventually(ready, "/readyz to answer 200 once the upstream listens")
    finally:
        server.close()
        await server.wait_closed()
