"""Run the gateway: the proxied port and the metrics port, until SIGTERM or SIGINT.

Lifecycle of one process (``--workers N`` runs N of these under :mod:`gateway.workers`):

* start: load and validate the file (exit 2 with its problems), listen (exit 1 with one line
  when an address is taken), probe the upstreams for ``/readyz``;
* SIGHUP or a changed file: reload (:mod:`gateway.reload`);
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
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from gateway.config.load import ConfigError, load_config
from gateway.config.model import Address, GatewayConfig
from gateway.observe.logs import configure_logging
from gateway.serve.connections import guarded_runner
from gateway.serve.handler import Gateway, build_gateway
from gateway.serve.metrics_port import Readiness, start_admin
from gateway.serve.reload import Reloader
from gateway.state import GatewayContext, Runtime

log = logging.getLogger("gateway.server")

# Once the grace is over (or everything finished), a response already produced gets this long
# to be written before its handler is cancelled.
FINAL_WRITE_SECONDS = 1.0
EXIT_OK, EXIT_CANNOT_START, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


class StartupError(Exception):
    """The gateway cannot start (an address is taken): one line for the operator."""


def serve(
    config_path: str, *, workers: int = 1, debug: bool = False, supervised: bool = False
) -> int:
    """Load the config and serve until stopped. Exit code 0 after a clean stop, 2 for a bad
    file (every problem printed), 1 when the gateway cannot start. ``supervised`` runs even
    one worker under the supervisor (the benchmark prices multiprocess metrics with it)."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return EXIT_INVALID
    configure_logging(config.log, debug=debug)
    for warning in config.warnings:
        log.warning("%s", warning)
    # Until the reloader listens, SIGHUP must not kill the process (its default); the file
    # watcher sees any change made meanwhile.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        if workers > 1 or supervised:
            from gateway.serve.supervisor import supervise  # only the supervisor needs it

            return asyncio.run(supervise(config, config_path, workers=workers, debug=debug))
        asyncio.run(run_gateway(config, path=config_path, debug=debug))
    except StartupError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place
        return EXIT_INTERRUPTED
    return EXIT_OK


class Stopper:
    """SIGTERM/SIGINT: the first asks for a graceful stop, a second one to stop waiting for
    the requests in flight."""

    def __init__(self, on_stop: Callable[[], None] = lambda: None) -> None:
        self.stop, self.hurry = asyncio.Event(), asyncio.Event()
        self._on_stop = on_stop
        self._signals: list[signal.Signals] = []

    def __call__(self) -> None:
        if self.stop.is_set():
            self.hurry.set()
        self.request_stop()

    def request_stop(self) -> None:
        if not self.stop.is_set():
            self._on_stop()
            self.stop.set()

    def install(self, *signals: signal.Signals, handler: Callable[[], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        for sig in signals:
            loop.add_signal_handler(sig, handler or self)
        self._signals += signals

    def uninstall(self) -> None:
        """Ignore the signals from now on: the process is about to exit 0 anyway, and one
        arriving while the event loop closes would print a traceback."""
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)


def listen_error(address: Address, exc: OSError) -> StartupError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)  # asyncio's text repeats us
    return StartupError(f"cannot listen on {address}: {reason}")


def relog(old: GatewayConfig, new: GatewayConfig, *, debug: bool) -> None:
    """Apply a reloaded ``log:`` section (level, format) in this process."""
    if new.log != old.log:
        configure_logging(new.log, debug=debug)


class ProxyServer:
    """The proxied port of one process: started, then drained."""

    def __init__(self, runner: web.ServerRunner, gateway: Gateway) -> None:
        self.runner, self.gateway = runner, gateway

    @classmethod
    async def start(
        cls, gateway: Gateway, address: Address, *, reuse_port: bool = False
    ) -> ProxyServer:
        timeouts = gateway.context.runtime.active.config.timeouts
        # handler_cancellation: a client that leaves while the upstream thinks frees the
        # upstream connection at once instead of when the upstream answers.
        runner = guarded_runner(
            gateway.handler,
            header_timeout=timeouts.client_header,
            shutdown_timeout=FINAL_WRITE_SECONDS,
            access_log=None,
            handler_cancellation=True,
            **gateway.server_options,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, address.host, address.port, reuse_port=reuse_port).start()
        except OSError as exc:
            await runner.cleanup()
            await gateway.close()
            raise listen_error(address, exc) from None
        return cls(runner, gateway)

    @property
    def runtime(self) -> Runtime:
        return self.gateway.context.runtime

    async def drain(self, hurry: asyncio.Event) -> None:
        """Stop accepting, give what is in flight the grace of the config in force (or until
        ``hurry``), then close every connection and cancel what is left.

        Connections are not closed before: aiohttp drops what a closing connection receives,
        which would cut uploads and WebSockets in flight. Keep-alive connections instead
        close after their next response (see :func:`gateway.pipeline.close_connection`)."""
        runtime = self.runtime
        runtime.draining = True
        grace = runtime.active.config.timeouts.shutdown_grace
        for site in list(self.runner.sites):
            await site.stop()
        if runtime.inflight:
            log.info("draining %d requests in flight (grace %gs)", runtime.inflight, grace)
            await first_of(grace, runtime.drained(), hurry.wait())
        if runtime.inflight:
            log.warning("shutdown: %d requests in flight cut", runtime.inflight)
        await self.runner.cleanup()
        await self.gateway.close()


async def first_of(timeout: float, *waits: Awaitable[Any]) -> None:
    """Wait until one of ``waits`` finishes or ``timeout`` passes; cancel the rest."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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
    context = gateway.context
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
        tasks.append(asyncio.create_task(_reloads(path, context, readiness, debug)))
    log.info(
        "listening on http://%s, metrics on http://%s/metrics (pid %d)",
        config.listen,
        config.metrics_listen,
        os.getpid(),
    )
    # Everything built so far lives as long as the process: out of the collector's sight, so
    # that its full collections do not walk it again and again (~30 us of CPU a request).
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


async def _reloads(path: str, context: GatewayContext, readiness: Readiness, debug: bool) -> None:
    """Reload on SIGHUP and on file change until cancelled."""
    metrics = context.metrics.config_metrics
    assert metrics is not None  # build_gateway made them: this process loads the config

    async def apply(new: GatewayConfig) -> None:
        relog(context.runtime.active.config, new, debug=debug)
        context.runtime.swap(new)
        readiness.configure(new)

    reloader = Reloader(path, context.runtime.active.config, apply, metrics)
    await watch_with_sighup(reloader)


async def watch_with_sighup(reloader: Reloader) -> None:
    """Poll the file, and reload on SIGHUP, until cancelled."""
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[bool]] = set()

    def on_sighup() -> None:
        task = loop.create_task(reloader.reload(forced=True))
        pending.add(task)
        task.add_done_callback(pending.discard)

    loop.add_signal_handler(signal.SIGHUP, on_sighup)
    try:
        await reloader.watch()
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # while stopping: not a reason to die
        for task in pending:
            task.cancel()
