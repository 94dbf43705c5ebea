"""The gateway served in the test's process the way ``gateway run`` serves it.

:func:`start_gateway` goes through the production path: :func:`gateway.serve.build_gateway`,
then :meth:`ProxyServer.start <gateway.serve.proxy_port.ProxyServer.start>`, which builds
aiohttp's low-level server through ``guarded_runner`` with the header deadline,
``handler_cancellation``, no aiohttp access log and the gateway's field limits, exactly as
:func:`gateway.serve.single.run_gateway` does. Closing is the production drain with the
hurry already given: stop accepting, cut what is in flight, close the upstream pool.

:class:`GatewayTestServer` puts the same server behind aiohttp's ``TestClient``, for tests
written against that client (relative URLs, a cookie jar that keeps cookies of 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import BaseTestServer
from aiohttp.web_runner import BaseRunner
from prometheus_client import CollectorRegistry
from yarl import URL

from gateway.config import Address, GatewayConfig
from gateway.serve import Gateway, build_gateway
from gateway.serve.proxy_port import ProxyServer
from gateway.state import Clock, GatewayState


@dataclass
class RunningGateway:
    """A gateway listening on 127.0.0.1 (see the module docstring)."""

    proxy: ProxyServer
    port: int
    closed: bool = False

    @property
    def url(self) -> str:
        """The base URL: ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def gateway(self) -> Gateway:
        return self.proxy.gateway

    @property
    def state(self) -> GatewayState:
        return self.proxy.state

    @property
    def config(self) -> GatewayConfig:
        return self.state.snapshot.config

    async def close(self) -> None:
        """Drain as at shutdown, without the grace (once; later calls do nothing)."""
        if self.closed:
            return
        self.closed = True
        hurry = asyncio.Event()
        hurry.set()
        await self.proxy.drain(hurry)


async def start_gateway(
    config: GatewayConfig,
    *,
    clock: Clock = time.time,
    registry: CollectorRegistry | None = None,
    port: int = 0,
) -> RunningGateway:
    """Build the gateway for ``config`` and serve it on 127.0.0.1 (a free port unless one is
    given; ``config.listen`` is not used). Call inside the running loop; close it after."""
    gateway = build_gateway(config, registry=registry, clock=clock)
    proxy = await ProxyServer.start(gateway, Address("127.0.0.1", port))
    bound = proxy.runner.addresses[0][1]
    return RunningGateway(proxy, int(bound))


class GatewayTestServer(BaseTestServer):
    """aiohttp's test-server interface over :func:`start_gateway`: ``TestClient(server)``
    starts the production server and drains it when the client closes."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        clock: Clock = time.time,
        registry: CollectorRegistry | None = None,
    ) -> None:
        super().__init__(host="127.0.0.1")
        self.config, self.clock, self.registry = config, clock, registry
        self.running: RunningGateway | None = None

    async def start_server(self, loop: asyncio.AbstractEventLoop | None = None, **_: Any) -> None:
        if self.running is None:
            self.running = await start_gateway(
                self.config, clock=self.clock, registry=self.registry
            )
            self.runner = self.running.proxy.runner
            self.port, self.scheme = self.running.port, "http"

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        raise NotImplementedError("start_server starts the production server itself")

    def make_url(self, path: str | URL) -> URL:
        assert self.running is not None, "the server is not started"
        url = URL(path)
        assert not url.absolute
        return URL(self.running.url).join(url)

    @property
    def closed(self) -> bool:
        return self.running is not None and self.running.closed

    async def close(self) -> None:
        if self.running is not None:
            await self.running.close()
