"""Pieces every serving process shares (one process alone, the supervisor, a worker): the
stop signals, the listen error, waiting for the first of several things, reloading on SIGHUP.

Low in the graph on purpose: :mod:`gateway.serve.single`, :mod:`gateway.serve.supervisor` and
:mod:`gateway.serve.worker` all import from here, and nothing here imports them.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.config import Address, GatewayConfig
from gateway.observe import configure_logging
from gateway.serve.reload import Reloader

# Once the grace is over (or everything finished), a response already produced gets this long
# to be written before its handler is cancelled.
FINAL_WRITE_SECONDS = 1.0


class StartupError(Exception):
    """The gateway cannot start (an address is taken): one line for the operator."""


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


async def first_of(timeout: float, *waits: Awaitable[Any]) -> None:
    """Wait until one of ``waits`` finishes or ``timeout`` passes; cancel the rest."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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
