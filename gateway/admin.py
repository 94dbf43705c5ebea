"""The metrics port: ``/metrics``, ``/healthz``, ``/readyz``. Never served on the proxied port,
so a scrape endpoint is not exposed to the internet by accident."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from gateway.runtime import GatewayContext

ADMIN_CONTEXT = web.AppKey("gateway", GatewayContext)
REGISTRY = web.AppKey("registry", CollectorRegistry)


def build_admin_app(context: GatewayContext, registry: CollectorRegistry) -> web.Application:
    app = web.Application()
    app[ADMIN_CONTEXT] = context
    app[REGISTRY] = registry
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    return app


async def _metrics(request: web.Request) -> web.Response:
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encoder(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": content_type})


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    context = request.app[ADMIN_CONTEXT]
    if context.draining:
        return web.json_response({"status": "draining"}, status=503)
    config = context.runtime.active.config
    return web.json_response({"status": "ready", "config": config.sha256[:12]})
