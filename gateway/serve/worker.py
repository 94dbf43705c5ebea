"""A worker process of ``gateway run --workers N``: ``python -m gateway.serve.worker``, started
by :mod:`gateway.serve.supervisor` with its end of the channel.

It receives its config over the channel, serves the proxied port with SO_REUSEPORT (the
kernel spreads new connections), applies each config the supervisor sends and confirms it,
and drains on SIGTERM. It ignores SIGINT and SIGHUP (a terminal signals the whole process
group; the supervisor acts on them), and stops when its channel closes: it never outlives a
supervisor killed with SIGKILL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, values

from gateway.config import GatewayConfig
from gateway.observe import configure_logging
from gateway.serve.channel import HURRY, receive, send
from gateway.serve.handler import Gateway, build_gateway
from gateway.serve.lifecycle import StartupError, Stopper, relog
from gateway.serve.proxy_port import ProxyServer
from gateway.state import GatewayState

log = logging.getLogger("gateway.workers")


def worker_main(argv: Sequence[str]) -> int:
    """The worker process: ``python -m gateway.serve.worker --channel FD --index I [--debug]``."""
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
    # each, several a request); a worker never forks, so its pid is asked once. ValueClass is
    # prometheus-client's own hook (tests/unit/test_private_apis.py).
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
    gc.freeze()  # as gateway.serve.single does: the collector stops walking what lives for ever
    listener = asyncio.create_task(_listen(reader, writer, gateway.state, stopper, debug))
    await stopper.stop.wait()
    await proxy.drain(stopper.hurry)
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
    return 0


async def _listen(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    state: GatewayState,
    stopper: Stopper,
    debug: bool,
) -> None:
    """Apply the configs the supervisor sends; stop when it says hurry or goes away."""
    while (message := await receive(reader)) is not None:
        if message == HURRY:
            stopper.hurry.set()
        elif isinstance(message, GatewayConfig):
            relog(state.snapshot.config, message, debug=debug)
            state.swap(message)
            with contextlib.suppress(ConnectionError):
                await send(writer, ("applied", message.sha256))
    log.warning("the supervisor has gone; stopping")
    stopper.request_stop()


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
