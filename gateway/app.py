"""Assemble the gateway's proxied application (the metrics/health one is in admin.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig
from gateway.metrics import GatewayMetrics
from gateway.pipeline import handle
from gateway.runtime import Clock, GatewayContext, Runtime, tracked

# The request line (method, target, version) may carry a long query; 414 beyond this.
MAX_REQUEST_LINE = 16384


def build_app(config: GatewayConfig, *, registry: CollectorRegistry | None = None,
              clock: Clock = time.time, config_metrics: bool = True) -> web.Application:
    """The proxied port's application. Every path goes to the pipeline: aiohttp's router is
    not used for matching (the gateway normalises the raw path itself).

    ``config_metrics=False`` in a ``--workers`` worker, whose supervisor reports the config."""
    metrics = GatewayMetrics(registry if registry is not None else CollectorRegistry(),
                             config_metrics=config_metrics)
    metrics.config_loaded(config.sha256, clock())
    context = GatewayContext(Runtime(config), metrics, clock)
    app = web.Application(handler_args={
        "max_field_size": config.limits.max_header_bytes,
        "max_line_size": MAX_REQUEST_LINE,
    })
    app[GatewayContext.KEY] = context
    # [\s\S], not ".": a path with %0a must reach the pipeline (and its 400) too.
    app.router.add_route("*", r"/{tail:[\s\S]*}", tracked(handle))
    app.cleanup_ctx.append(_close_pool)
    return app


async def _close_pool(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[GatewayContext.KEY].runtime.close()
