"""Run the gateway: the proxied port and the metrics port, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal
import sys

from aiohttp import web
from prometheus_client import CollectorRegistry

from gateway.app import admin_app_for, build_app
from gateway.config import GatewayConfig
from gateway.loader import ConfigError, load_config


def serve(config_path: str, *, workers: int = 1, debug: bool = False) -> int:
    """Load the config and serve until stopped; exit code 0 on a clean stop, 2 on a bad file."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    asyncio.run(run_gateway(config))
    return 0


async def run_gateway(config: GatewayConfig, *, stop: asyncio.Event | None = None) -> None:
    """Serve ``config`` until ``stop`` is set (or SIGTERM/SIGINT arrive)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    registry = CollectorRegistry()
    app = build_app(config, registry=registry)
    grace = config.timeouts.shutdown_grace
    # handler_cancellation: a client that leaves while the upstream thinks frees the upstream
    # connection at once instead of when the upstream answers.
    runners = [web.AppRunner(app, access_log=None, shutdown_timeout=grace,
                             handler_cancellation=True),
               web.AppRunner(admin_app_for(app, registry), access_log=None)]
    addresses = [config.listen, config.metrics_listen]
    for runner, address in zip(runners, addresses, strict=True):
        await runner.setup()
        await web.TCPSite(runner, address.host, address.port).start()
    print(f"gateway: listening on http://{config.listen}, metrics on "
          f"http://{config.metrics_listen}/metrics", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
