"""The proxied port's handler: the pipeline, with the state told what is in flight.

The port is served by aiohttp's low-level server (``web.Server``) with this one handler:
aiohttp's ``Application`` would resolve a router, build a ``web.Request`` and send a response
signal for every request, for one catch-all route (the gateway normalises and matches the
raw path itself). What that saves is measured in bench/README.md ("Why the code looks like
this").
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig
from gateway.observe import GatewayMetrics
from gateway.pipeline import handle
from gateway.state import Clock, GatewayState

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]

# The request line (method, target, version) may carry a long query; 414 beyond this.
MAX_REQUEST_LINE = 16384


@dataclass(frozen=True, slots=True)
class Gateway:
    """The proxied port's request handler, the state it reads, and the options its
    connections need (aiohttp ``RequestHandler`` keywords: header and request-line limits)."""

    state: GatewayState
    handler: Handler
    server_options: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        """Close the upstream connections (after the server stopped)."""
        await self.state.close()


def build_gateway(
    config: GatewayConfig,
    *,
    registry: CollectorRegistry | None = None,
    clock: Clock = time.time,
    config_metrics: bool = True,
) -> Gateway:
    """``config_metrics=False`` in a ``--workers`` worker, whose supervisor reports the config."""
    metrics = GatewayMetrics(
        registry if registry is not None else CollectorRegistry(), config_metrics=config_metrics
    )
    metrics.config_loaded(config.sha256, clock())
    state = GatewayState(config, metrics, clock)
    options = {
        "max_field_size": config.limits.max_header_bytes,
        "max_line_size": MAX_REQUEST_LINE,
    }
    return Gateway(state, serving(state), options)


def serving(state: GatewayState) -> Handler:
    """The port's handler: the pipeline, with the state told what is in flight (graceful
    shutdown waits for it, a replaced upstream pool waits for it)."""

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        generation = state.enter()
        try:
            return await handle(request, state)
        finally:
            state.leave(generation)

    return handler
