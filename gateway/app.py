"""Assemble the gateway: the proxied application and the separate metrics/health one."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CollectorRegistry

from gateway.admin import build_admin_app
from gateway.config import GatewayConfig
from gateway.metrics import GatewayMetrics
from gateway.pipeline import handle
from gateway.runtime import Clock, GatewayContext, Runtime
from gateway.upstream import UpstreamPool

# The request line (method, target, version) may carry a long query; 414 beyond this.
MAX_REQUEST_LINE = 16384


def build_app(config: GatewayConfig, *, registry: CollectorRegistry | None = None,
              clock: Clock = time.time) -> web.Application:
    """The proxied port's application. Every path goes to the pipeline: aiohttp's router is
    not used for matching (the gateway normalises the raw path itself)."""
    metrics = GatewayMetrics(registry if registry is not None else CollectorRegistry())
    metrics.config_loaded(config.sha256, clock())
    context = GatewayContext(Runtime(config), metrics, UpstreamPool(config.timeouts), clock)
    app = web.Application(handler_args={
        "max_field_size": config.limits.max_header_bytes,
        "max_line_size": MAX_REQUEST_LINE,
    })
    app[GatewayContext.KEY] = context
    app.router.add_route("*", "/{tail:.*}", handle)
    app.cleanup_ctx.append(_close_pool)
    return app


async def _close_pool(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[GatewayContext.KEY].pool.close()


def admin_app_for(app: web.Application, registry: CollectorRegistry) -> web.Application:
    """The metrics/health application for a gateway app built by :func:`build_app`."""
    return build_admin_app(app[GatewayContext.KEY], registry)
