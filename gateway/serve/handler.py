"""Assemble the gateway's proxied port (the metrics/health one is in admin.py).

The port is served by aiohttp's low-level server (``web.Server``) with one handler: aiohttp's
``Application`` would resolve a router, build a ``web.Request`` and send a response signal for
every request, ~10 µs of CPU a request here, for one catch-all route (the gateway normalises
and matches the raw path itself).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from gateway.config.model import GatewayConfig
from gateway.observe.metrics import GatewayMetrics
from gateway.pipeline import handle
from gateway.state import Clock, GatewayContext, Handler, Runtime

# The request line (method, target, version) may carry a long query; 414 beyond this.
MAX_REQUEST_LINE = 16384


@dataclass(frozen=True, slots=True)
class Gateway:
    """The proxied port's request handler, what it reads (``context``), and the options its
    connections need (aiohttp ``RequestHandler`` keywords: header and request-line limits)."""

    context: GatewayContext
    handler: Handler
    server_options: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        """Close the upstream connections (after the server stopped)."""
        await self.context.runtime.close()


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
    context = GatewayContext(Runtime(config), metrics, clock)
    options = {"max_field_size": config.limits.max_header_bytes, "max_line_size": MAX_REQUEST_LINE}
    return Gateway(context, serving(context), options)


def serving(context: GatewayContext) -> Handler:
    """The port's handler: the pipeline, with the runtime told what is in flight (graceful
    shutdown waits for it, a replaced upstream pool waits for it)."""
    runtime = context.runtime

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        generation = runtime.enter()
        try:
            return await handle(request, context)
        finally:
            runtime.leave(generation)

    return handler
