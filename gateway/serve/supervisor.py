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

A worker ignores SIGINT and SIGHUP (a terminal signals the whole process group; the
supervisor acts on them), and stops when its channel closes: it never outlives a supervisor
killed with SIGKILL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import pickle
import signal
import socket
import struct
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from gateway.config.model import GatewayConfig
from gateway.observe.logs import configure_logging
from gateway.observe.metrics import ConfigMetrics
from gateway.serve.handler import Gateway, build_gateway
from gateway.serve.metrics_port import Readiness, start_admin
from gateway.serve.reload import Reloader
from gateway.serve.single import (
    FINAL_WRITE_SECONDS,
    ProxyServer,
    StartupError,
    Stopper,
    first_of,
    listen_error,
    relog,
    watch_with_sighup,
)
from gateway.state import GatewayContext

log = logging.getLogger("gateway.workers")

APPLY_TIMEOUT = 10.0  # a reload waits this long for every worker to confirm
EXIT_MARGIN = 5.0  # beyond the grace, before a worker that does not exit is killed
BACKOFF_FIRST, BACKOFF_MAX, STABLE_AFTER = 0.5, 10.0, 30.0  # seconds: restarting a dead worker
HURRY = "hurry"
_LENGTH = struct.Struct("!I")


async def send(writer: asyncio.StreamWriter, message: object) -> None:
    """One message on a channel between the supervisor and its own worker (both trusted)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(_LENGTH.pack(len(data)) + data)
    await writer.drain()


async def receive(reader: asyncio.StreamReader) -> object | None:
    """The next message, or None once the other side has gone."""
    try:
        (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
        message: object = pickle.loads(await reader.readexactly(length))
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return message


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
                "gateway.serve.supervisor",
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


def worker_main(argv: Sequence[str]) -> int:
    """The worker process: ``python -m gateway.serve.supervisor --channel FD --index I``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    parser = argparse.ArgumentParser(prog="gateway worker")
    parser.add_argument("--channel", type=int, required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    return asyncio.run(_work(socket.socket(fileno=args.channel), args.index, args.debug))


async def _work(channel: socket.socket, index: int, debug: bool) -> int:
    if values.ValueClass is values.MutexValue:  # the supervisor sets PROMETHEUS_MULTIPROC_DIR
        print(f"gateway: worker {index}: not started by a supervisor", file=sys.stderr)
        return 1
    # prometheus-client asks os.getpid() on every value update to notice a fork (a system call
    # each, several a request); a worker never forks, so its pid is asked once.
    pid = os.getpid()
    values.ValueClass = values.MultiProcessValue(  # type: ignore[no-untyped-call]
        process_identifier=lambda: pid
    )
    reader, writer = await asyncio.open_unix_connection(sock=channel)
    config = await receive(reader)
    if not isinstance(config, GatewayConfig):
        return 1
    configure_logging(config.log, debug=debug)
    gateway = build_gateway(config, registry=CollectorRegistry(), config_metrics=False)
    stopper = Stopper()
    # Not a hurry when repeated: systemd signals every process of the unit, and then the
    # supervisor passes the same SIGTERM on.
    stopper.install(signal.SIGTERM, handler=stopper.request_stop)
    try:
        return await _serve(gateway, config, index, reader, writer, stopper, debug)
    finally:
        stopper.uninstall()


async def _serve(
    gateway: Gateway,
    config: GatewayConfig,
    index: int,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    stopper: Stopper,
    debug: bool,
) -> int:
    try:
        proxy = await ProxyServer.start(gateway, config.listen, reuse_port=True)
    except StartupError as exc:
        print(f"gateway: worker {index}: {exc}", file=sys.stderr, flush=True)
        return 1
    await send(writer, ("serving", config.sha256))
    log.info("worker %d (pid %d) serving on http://%s", index, os.getpid(), config.listen)
    gc.freeze()  # as gateway.server does: the collector stops walking what lives for ever
    listener = asyncio.create_task(_listen(reader, writer, gateway.context, stopper, debug))
    await stopper.stop.wait()
    await proxy.drain(stopper.hurry)
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
    return 0


async def _listen(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    context: GatewayContext,
    stopper: Stopper,
    debug: bool,
) -> None:
    """Apply the configs the supervisor sends; stop when it says hurry or goes away."""
    while (message := await receive(reader)) is not None:
        if message == HURRY:
            stopper.hurry.set()
        elif isinstance(message, GatewayConfig):
            relog(context.runtime.active.config, message, debug=debug)
            context.runtime.swap(message)
            with contextlib.suppress(ConnectionError):
                await send(writer, ("applied", message.sha256))
    log.warning("the supervisor has gone; stopping")
    stopper.request_stop()


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
