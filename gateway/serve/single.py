"""One gateway process alone: the proxied port and the metrics port, until SIGTERM or SIGINT.

Lifecycle (``--workers N`` runs N workers under :mod:`gateway.serve.supervisor` instead):

* start: listen (:class:`~gateway.serve.lifecycle.StartupError`, one line, when an address is
  taken), probe the upstreams for ``/readyz``;
* SIGHUP or a changed file: reload (:mod:`gateway.serve.reload`);
* SIGTERM or SIGINT: ``/readyz`` fails at once, the proxied port stops accepting, requests and
  WebSockets in flight get ``timeouts.shutdown_grace`` (of the config in force) to finish,
  then the process exits 0. A second signal stops waiting.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal

from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig
from gateway.serve.handler import build_gateway
from gateway.serve.lifecycle import StartupError, Stopper, listen_error, relog, watch_with_sighup
from gateway.serve.metrics_port import Readiness, start_admin
from gateway.serve.proxy_port import ProxyServer
from gateway.serve.reload import Reloader
from gateway.state import GatewayState

log = logging.getLogger("gateway.server")


async def run_gateway(
    config: GatewayConfig,
    *,
    stop: asyncio.Event | None = None,
    path: str | None = None,
    debug: bool = False,
) -> None:
    """Serve ``config`` in this process until SIGTERM/SIGINT (or ``stop`` is set); reload
    from ``path`` on SIGHUP and when it changes (no ``path``: no reloads)."""
    registry = CollectorRegistry()
    gateway = build_gateway(config, registry=registry)
    state = gateway.state
    readiness = Readiness(config)
    stopper = Stopper(on_stop=lambda: setattr(readiness, "draining", True))
    stopper.install(signal.SIGTERM, signal.SIGINT)
    try:
        proxy = await ProxyServer.start(gateway, config.listen)
        try:
            admin = await start_admin(readiness, registry, config.metrics_listen)
        except OSError as exc:
            await proxy.drain(stopper.hurry)
            raise listen_error(config.metrics_listen, exc) from None
    except StartupError:
        stopper.uninstall()
        raise
    tasks = [asyncio.create_task(readiness.probe())]
    if stop is not None:
        tasks.append(asyncio.create_task(_relay(stop, stopper)))
    if path is not None:
        tasks.append(asyncio.create_task(_reloads(path, state, readiness, debug)))
    log.info(
        "listening on http://%s, metrics on http://%s/metrics (pid %d)",
        config.listen,
        config.metrics_listen,
        os.getpid(),
    )
    # Everything built so far lives as long as the process: out of the collector's sight, so
    # that its full collections do not walk it again and again (measured: bench/README.md,
    # "Why the code looks like this").
    gc.freeze()
    try:
        await stopper.stop.wait()
        await proxy.drain(stopper.hurry)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await admin.cleanup()
        stopper.uninstall()
    log.info("stopped")


async def _relay(stop: asyncio.Event, stopper: Stopper) -> None:
    await stop.wait()
    stopper()


async def _reloads(path: str, state: GatewayState, readiness: Readiness, debug: bool) -> None:
    """Reload on SIGHUP and on file change until cancelled."""
    metrics = state.metrics.config_metrics
    assert metrics is not None  # build_gateway made them: this process loads the config

    async def apply(new: GatewayConfig) -> None:
        relog(state.snapshot.config, new, debug=debug)
        state.swap(new)
        readiness.configure(new)

    reloader = Reloader(path, state.snapshot.config, apply, metrics)
    await watch_with_sighup(reloader)
