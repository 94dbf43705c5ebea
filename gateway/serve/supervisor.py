"""``gateway run --workers N``: a supervisor and N worker processes on one port.

Each worker serves the proxied port with SO_REUSEPORT (the kernel spreads new connections).
The supervisor, the process that was started:

* serves ``/metrics``, ``/healthz``, ``/readyz`` (one process may bind ``metrics_listen``; the
  supervisor outlives any worker, and a scrape, which reads every worker's files, costs the
  proxied traffic nothing);
* owns the config: on SIGHUP or a file change it validates once, counts the reload once, and
  hands the validated config to each worker over its channel (a socket pair), waiting for
  each to confirm, so a counted reload is in force everywhere;
* replaces a dead worker (with a backoff against crash loops);
* on SIGTERM/SIGINT fails ``/readyz``, sends SIGTERM to the workers, which drain, and exits 0
  (a second signal tells them to stop waiting).

Metrics: each worker writes prometheus-client multiprocess files into a directory made fresh
for this run (``PROMETHEUS_MULTIPROC_DIR``, for the workers only) and removed at exit; a write
is a store into a memory-mapped file. The supervisor's own metrics (config, reloads, build)
are in its ordinary registry (see ``ConfigMetrics``).

The workers themselves are :mod:`gateway.serve.worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from gateway.config import GatewayConfig
from gateway.observe import ConfigMetrics
from gateway.serve.channel import HURRY, receive, send
from gateway.serve.lifecycle import (
    FINAL_WRITE_SECONDS,
    StartupError,
    Stopper,
    first_of,
    listen_error,
    relog,
    watch_with_sighup,
)
from gateway.serve.metrics_port import Readiness, start_admin
from gateway.serve.reload import Reloader

log = logging.getLogger("gateway.workers")

APPLY_TIMEOUT = 10.0  # a reload waits this long for every worker to confirm
EXIT_MARGIN = 5.0  # beyond the grace, before a worker that does not exit is killed
BACKOFF_FIRST, BACKOFF_MAX, STABLE_AFTER = 0.5, 10.0, 30.0  # seconds: restarting a dead worker


async def supervise(config: GatewayConfig, path: str, *, workers: int, debug: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="gateway-metrics-") as metrics_dir:
        return await Supervisor(config, workers, debug, metrics_dir).run(path)


@dataclass(eq=False)
class Worker:
    """A running worker process as the supervisor sees it."""

    index: int
    process: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    serving: bool = False
    gone: bool = False
    applied: str = ""  # sha256 of the config it confirmed
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def follow(self) -> None:
        """Read the worker's messages until its channel closes."""
        while (message := await receive(self.reader)) is not None:
            kind, sha256 = message if isinstance(message, tuple) else ("", "")
            async with self.changed:
                self.serving = self.serving or kind == "serving"
                self.applied = sha256
                self.changed.notify_all()
        async with self.changed:
            self.gone, self.serving = True, False
            self.changed.notify_all()

    async def wait_for(self, sha256: str | None) -> bool:
        """Until it serves (``None``) or confirmed ``sha256``; False if it died first."""
        async with self.changed:
            await self.changed.wait_for(
                lambda: self.gone or (self.serving if sha256 is None else self.applied == sha256)
            )
            return not self.gone


class Supervisor:
    def __init__(self, config: GatewayConfig, count: int, debug: bool, metrics_dir: str) -> None:
        self.config, self.count, self.debug, self.metrics_dir = config, count, debug, metrics_dir
        self.workers: dict[int, Worker] = {}
        self.registry = CollectorRegistry()
        MultiProcessCollector(self.registry, path=metrics_dir)  # type: ignore[no-untyped-call]
        self.metrics = ConfigMetrics(self.registry)
        self.metrics.loaded(config.sha256, time.time())
        self.readiness = Readiness(config, workers=self._serving)
        self.stopper = Stopper(on_stop=lambda: setattr(self.readiness, "draining", True))
        self._followers: set[asyncio.Task[None]] = set()

    def _serving(self) -> tuple[list[int], int]:
        return sorted(w.process.pid for w in self.workers.values() if w.serving), self.count

    async def run(self, path: str) -> int:
        self.stopper.install(signal.SIGTERM, signal.SIGINT)
        address = self.config.metrics_listen
        try:
            admin = await start_admin(self.readiness, self.registry, address)
        except OSError as exc:
            self.stopper.uninstall()
            raise listen_error(address, exc) from None
        tasks: list[asyncio.Task[None]] = []
        try:
            await self._start_all()
            reloader = Reloader(path, self.config, self.apply, self.metrics)
            tasks += [
                asyncio.create_task(self.readiness.probe()),
                asyncio.create_task(watch_with_sighup(reloader)),
                *(asyncio.create_task(self._keep(i)) for i in range(self.count)),
            ]
            log.info(
                "supervisor (pid %d): %d workers on http://%s, metrics on http://%s/metrics",
                os.getpid(),
                self.count,
                self.config.listen,
                address,
            )
            await self.stopper.stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._stop_workers()
            await admin.cleanup()
            self.stopper.uninstall()
        log.info("stopped")
        return 0

    async def _start_all(self) -> None:
        """Start every worker and wait until each serves; one that dies first stops it all."""
        started = [await self._spawn(index) for index in range(self.count)]
        serving = await asyncio.gather(*(worker.wait_for(None) for worker in started))
        if not all(serving):
            raise StartupError("a worker could not start (its reason is printed above)")

    async def _spawn(self, index: int) -> Worker:
        ours, theirs = socket.socketpair()
        with theirs:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gateway.serve.worker",
                "--channel",
                str(theirs.fileno()),
                "--index",
                str(index),
                *(["--debug"] if self.debug else []),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir},
            )
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        worker = self.workers[index] = Worker(index, process, reader, writer)
        task = asyncio.create_task(worker.follow())
        self._followers.add(task)
        task.add_done_callback(self._followers.discard)
        with contextlib.suppress(ConnectionError):
            await send(writer, self.config)
        log.info("worker %d started (pid %d)", index, process.pid)
        return worker

    async def _keep(self, index: int) -> None:
        """Replace worker ``index`` whenever it exits, until the gateway stops. One that
        dies young waits longer each time (a crash loop must not spin)."""
        backoff = BACKOFF_FIRST
        while True:
            worker, born = self.workers[index], time.monotonic()
            code = await worker.process.wait()
            self._bury(worker)
            if self.stopper.stop.is_set():
                return
            if time.monotonic() - born > STABLE_AFTER:
                delay, backoff = 0.0, BACKOFF_FIRST
            else:
                delay, backoff = backoff, min(backoff * 2, BACKOFF_MAX)
            how = f"signal {-code}" if code < 0 else f"code {code}"
            log.warning(
                "worker %d (pid %d) exited with %s; starting another in %gs",
                index,
                worker.process.pid,
                how,
                delay,
            )
            await first_of(delay, self.stopper.stop.wait())
            if self.stopper.stop.is_set():
                return
            await self._spawn(index)

    def _bury(self, worker: Worker) -> None:
        worker.writer.close()
        # Its live gauges (in-flight requests) stop counting; its counters still add up.
        mark_process_dead(worker.process.pid, self.metrics_dir)  # type: ignore[no-untyped-call]

    async def apply(self, config: GatewayConfig) -> None:
        """Hand a validated config to every worker and wait until each confirms it."""
        relog(self.config, config, debug=self.debug)
        self.config = config  # a worker started from now on gets it
        self.readiness.configure(config)
        live = [w for w in self.workers.values() if not w.gone]
        for worker in live:
            with contextlib.suppress(ConnectionError):
                await send(worker.writer, config)
        confirmed = asyncio.gather(*(w.wait_for(config.sha256) for w in live))
        await first_of(APPLY_TIMEOUT, confirmed)

    async def _stop_workers(self) -> None:
        """SIGTERM every worker, pass a second signal on as "hurry", kill what outlives the
        grace by :data:`EXIT_MARGIN`."""
        live = [w for w in self.workers.values() if w.process.returncode is None]
        for worker in live:
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
        hurry = asyncio.create_task(self._pass_hurry(live))
        limit = self.config.timeouts.shutdown_grace + FINAL_WRITE_SECONDS + EXIT_MARGIN
        await first_of(limit, asyncio.gather(*(w.process.wait() for w in live)))
        hurry.cancel()
        for worker in live:
            if worker.process.returncode is None:
                log.error(
                    "worker %d (pid %d) did not stop; killing it", worker.index, worker.process.pid
                )
                worker.process.kill()
                await worker.process.wait()
            self._bury(worker)
        await asyncio.gather(*self._followers, return_exceptions=True)

    async def _pass_hurry(self, live: list[Worker]) -> None:
        await self.stopper.hurry.wait()
        for worker in live:
            with contextlib.suppress(ConnectionError):
                await send(worker.writer, HURRY)
